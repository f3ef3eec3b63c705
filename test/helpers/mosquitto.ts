import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand } from './requirements.js';

/** A port below Linux's ephemeral range (32768 and up), where the suite's own sockets may sit. */
function pickPort(): number {
  return 21000 + Math.floor(Math.random() * 11000);
}

export function mosquittoMissing(): string | undefined {
  return hasCommand('mosquitto') ? undefined : 'mosquitto (Debian package mosquitto)';
}

/**
 * A real Mosquitto on 127.0.0.1 and a free port, with its own config file and a persistence folder, so
 * that a restart keeps retained messages as a production broker would.
 */
export class Mosquitto {
  private proc: ChildProcess | undefined;
  port = 0;
  private dir = '';

  /**
   * `listener` lines replace anonymous plain MQTT: TLS files and a password file, say. Files they name
   * must be readable by the broker's own user, to which it drops when started as root.
   */
  constructor(
    private readonly listener: string[] = ['allow_anonymous true'],
    private readonly scheme: 'mqtt' | 'mqtts' = 'mqtt',
  ) {}

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** After the first start the port is kept: clients and the persistence belong to it. */
  private restarted = false;

  async start(attempt = 0): Promise<void> {
    if (!this.dir) {
      this.dir = await mkdtemp(join(tmpdir(), 'herald-mosquitto-'));
      // Started as root, mosquitto drops to its own user: it must be able to write its persistence file,
      // or retained messages would silently not survive a restart.
      await chmod(this.dir, 0o777);
      this.port = pickPort();
    }
    await writeFile(
      join(this.dir, 'mosquitto.conf'),
      [
        `listener ${this.port} 127.0.0.1`,
        ...this.listener,
        'persistence true',
        `persistence_location ${this.dir}/`,
        'autosave_interval 1',
        'log_type error',
        '',
      ].join('\n'),
    );
    this.proc = spawn('mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const deadline = Date.now() + 5000;
    while (!(await this.listening())) {
      if (this.proc.exitCode !== null && !this.restarted && attempt < 5) {
        // The port was taken meanwhile: a first start may move to another one.
        this.port = pickPort();
        return this.start(attempt + 1);
      }
      if (Date.now() > deadline || this.proc.exitCode !== null)
        throw new Error(`mosquitto did not start on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    this.restarted = true;
  }

  /** Stops the broker (SIGTERM saves its persistence file first). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    await exited;
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  private listening(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = tcpConnect(this.port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  }
}
