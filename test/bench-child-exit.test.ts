import { ChildProcess } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from '../bench/scale/process-cluster.js';

/**
 * Attack (attack11) on the scale step's children: one that exits (killed, out of memory, an agent's start that
 * threw) never answered, and every question to it (traffic, load, counters, each phase's end) waited for ever:
 * the step hung with the other children running, under the bench lock.
 */
/** A child process object never spawned: what the bench sends it goes nowhere. */
function child(): ChildProcess {
  const proc = new ChildProcess();
  proc.send = () => true;
  return proc;
}

const settled = (p: Promise<unknown>, ms: number) =>
  Promise.race([
    p.then(
      () => 'answered',
      (e: unknown) => (e as Error).message,
    ),
    new Promise((r) => setTimeout(() => r('still waiting'), ms)),
  ]);

test('a question to a child that exits fails, and so does every later one', async () => {
  const proc = child();
  const w = new Worker(proc, 0, 1, () => {});
  const pending = w.ask({ t: 'traffic' });
  proc.emit('exit', null, 'SIGKILL');
  assert.match(String(await settled(pending, 200)), /process exited \(SIGKILL\)/);
  assert.match(String(await settled(w.ask({ t: 'load' }), 200)), /process exited/);
});

test.run();
