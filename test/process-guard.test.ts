import './helpers/no-unhandled.js';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { device, SimSite } from './helpers/sim.js';

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

test('a profile reload that throws from the folder watcher is counted, and later reloads still run', async () => {
  const site = new SimSite(7);
  const sim = await site.start('a', [device('a-1')]);
  try {
    const load = sim.source.load.bind(sim.source);
    sim.source.load = () => Promise.reject(new Error('the folder could not be read'));
    sim.source.set([device('a-2')]); // the watcher fires; its reload throws
    await site.clock.advance(10);
    assert.match(sim.agent.metrics.registry.render(), /herald_profile_reloads_total\{result="failed"\} 1/);
    sim.source.load = load;
    sim.source.set([device('a-3')]);
    await site.clock.advance(10);
    await sim.agent.reload('test');
    assert.equal(
      sim.agent.directory.devices({ includeLost: false }).map((d) => d.id),
      ['a-3'],
      'the next reload ran',
    );
  } finally {
    await site.stopAll();
  }
});

test.run();
