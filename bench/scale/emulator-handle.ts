import { fork, type ChildProcess } from 'node:child_process';
import { sleep } from '../harness.js';
import type { EmulatorReply } from './emulator-process.js';
import type { EmulatorCounts, EmulatorInit } from './site-emulator.js';

/** The bench's side of the emulated site's process (emulator-process.ts): start, counts, stop. */
export class EmulatorProcess {
  private readonly proc: ChildProcess;
  private readonly replies: EmulatorReply[] = [];

  constructor(init: EmulatorInit) {
    this.proc = fork('dist/bench/scale/emulator-process.js', [JSON.stringify(init)], { stdio: 'inherit' });
    this.proc.on('message', (m: EmulatorReply) => this.replies.push(m));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async ready(): Promise<number> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = this.replies.find((m) => 'ready' in m);
      if (r && 'ready' in r) return r.ready;
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error('the site emulator did not start');
      await sleep(50);
    }
  }

  async counts(): Promise<{ counts: EmulatorCounts; meanIntervalMs: number }> {
    this.replies.length = 0;
    this.proc.send('counts');
    for (;;) {
      const r = this.replies.find((m) => 'counts' in m);
      if (r && 'counts' in r) return r;
      if (this.proc.exitCode !== null) throw new Error('the site emulator exited');
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.send('stop');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
