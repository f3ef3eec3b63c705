import './helpers/no-unhandled.js';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('the agent process guard logs and counts an escaped rejection and exception, and the process lives on', () => {
  const script = `
    const { installProcessGuard } = await import(${JSON.stringify(resolve('dist/src/agent/process-guard.js'))});
    const { createLogger } = await import(${JSON.stringify(resolve('dist/src/util/logger.js'))});
    const counted = [];
    installProcessGuard(createLogger({ level: 'info', format: 'json' }), (kind) => counted.push(kind));
    void Promise.reject(new Error('a rejection nobody awaited'));
    setTimeout(() => { throw new Error('a throw in a timer'); }, 10);
    setTimeout(() => console.log(JSON.stringify({ counted })), 100);
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.is(run.status, 0, `the process exited normally: ${run.stderr}`);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.at(-1), { counted: ['unhandled-rejection', 'uncaught-exception'] });
  const logged = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('bug:'));
  assert.is(logged.length, 2, 'each one logged as a bug');
});

test.run();
