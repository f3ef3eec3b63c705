import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { laneOf, testFiles } from './helpers/lanes.js';

/**
 * npm test runs two uvu processes at once (test/helpers/run-lanes.ts): which lane a file runs in is derived from
 * its code (lanes.ts), the cpu lane refuses what its rule should have seen, and a failure in either lane fails
 * the run and stays under its file's name.
 */
const here = dirname(fileURLToPath(import.meta.url)); // dist/test
const repo = resolve(here, '..', '..');

/** A made-up compiled tree: dist/test, dist/src, with node_modules reachable for the files' `import 'uvu'`. */
function tree(files: Record<string, string>): { dist: string; done: () => void } {
  const top = mkdtempSync(join(tmpdir(), 'herald-lanes-'));
  symlinkSync(join(repo, 'node_modules'), join(top, 'node_modules'));
  const dist = join(top, 'dist');
  for (const [path, code] of Object.entries(files)) {
    mkdirSync(dirname(join(dist, path)), { recursive: true });
    writeFileSync(join(dist, path), code);
  }
  return { dist, done: () => rmSync(top, { recursive: true, force: true }) };
}

test('a lane follows what a file uses: the world or a real timer, in it or a test helper, not in src', () => {
  const t = tree({
    'test/sim.test.js': "import { SimSite } from './helpers/site.js';\nclock.setTimeout(() => {}, 5);",
    'test/helpers/site.js': "import { Agent } from '../../src/agent.js';",
    'src/agent.js': "import { createSocket } from 'node:dgram';", // the real transport, unused by the simulator
    'test/spawns.test.js': "import { runHerald } from './helpers/process.js';",
    'test/helpers/process.js': "import { spawn } from 'node:child_process';",
    'test/asks.test.js': "import {\n  request,\n} from 'undici';",
    'test/sleeps.test.js': 'await new Promise((r) => setTimeout(r, 250));',
    'test/polls.test.js': "import { until } from './helpers/until.js';",
    'test/helpers/until.js': 'export const until = () => new Promise((r) => setInterval(r, 50));',
    'test/serves.test.js': "import { PeerHttpServer } from '../src/http/peer-server.js';",
    'test/swarm.test.js': "import { runSwarm } from './swarm/pool.js';",
    'test/swarm/pool.js': "import { Worker } from 'node:worker_threads';\nsetInterval(progress, 1000);",
  });
  try {
    const lane = (name: string) => laneOf(join(t.dist, 'test', name), t.dist);
    assert.equal(lane('sim.test.js'), { lane: 'cpu' });
    assert.equal(lane('swarm.test.js'), { lane: 'cpu' }, "the simulator's progress timer is no wait");
    assert.equal(lane('spawns.test.js'), {
      lane: 'real-time',
      reason: 'node:child_process in test/helpers/process.js',
    });
    assert.is(lane('asks.test.js').lane, 'real-time', 'an import over several lines');
    assert.equal(lane('serves.test.js'), {
      lane: 'real-time',
      reason: 'src/http/peer-server.js in test/serves.test.js',
    });
    assert.equal(lane('sleeps.test.js'), { lane: 'real-time', reason: 'a timer in test/sleeps.test.js' });
    assert.equal(lane('polls.test.js'), { lane: 'real-time', reason: 'a timer in test/helpers/until.js' });
    assert.equal(testFiles(join(t.dist, 'test'), /^s/), [
      'serves.test.js',
      'sim.test.js',
      'sleeps.test.js',
      'spawns.test.js',
      'swarm.test.js',
    ]);
  } finally {
    t.done();
  }
});

test('the suite has files in both lanes', () => {
  const names = testFiles(here);
  const lanes = names.map((n) => laneOf(join(here, n), resolve(here, '..')).lane);
  assert.ok(names.length > 100, `${names.length} files`);
  assert.ok(lanes.includes('cpu') && lanes.includes('real-time'));
});

test("the cpu lane refuses a socket, a process or a watch its rule missed, and fails the run even if it's caught", () => {
  const guard = join(here, 'helpers', 'cpu-lane-guard.js');
  for (const call of [
    "import('node:dgram').then((d) => d.createSocket('udp4').bind(0))",
    "import('node:child_process').then(({ execFileSync }) => execFileSync('true'))",
    "import('node:net').then((n) => n.createServer().listen(0, '127.0.0.1'))",
    "import('node:fs').then(({ watch }) => watch('.'))",
  ]) {
    const swallowed = `${call}.catch(() => undefined).then(() => console.log('went on'))`;
    const r = spawnSync(process.execPath, ['--import', guard, '--input-type=module', '-e', swallowed], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.is(r.status, 1, `${call}: ${r.stderr}`);
    assert.match(r.stdout, /went on/, 'the caller saw an error it could catch');
    assert.match(r.stderr, /real-time calls in the cpu lane/);
  }
});

test('npm test fails when either lane fails, and each failure is shown under its own file', () => {
  const pass = (what: string) => `import { test } from 'uvu';\ntest('${what}', () => {});\ntest.run();\n`;
  const failing =
    "import { test } from 'uvu';\nimport * as assert from 'uvu/assert';\n" +
    "test('a wrong answer', () => assert.is(1, 2));\ntest.run();\n";
  for (const broken of ['cpu', 'real-time'] as const) {
    const waits = 'await new Promise((r) => setTimeout(r, 1));\n';
    const t = tree({
      'test/a-cpu.test.js': broken === 'cpu' ? failing : pass('sums'),
      'test/b-real.test.js': waits + (broken === 'real-time' ? failing : pass('waits')),
      'test/c-cpu.test.js': pass('more sums'),
    });
    try {
      const r = spawnSync(process.execPath, [join(here, 'helpers', 'run-lanes.js')], {
        encoding: 'utf8',
        env: { ...process.env, HERALD_TEST_ROOT: join(t.dist, 'test'), FORCE_COLOR: '0' },
        timeout: 60_000,
      });
      const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
      assert.is(r.status, 1, `${broken} lane failing: ${out}\n${r.stderr}`);
      // .ci/run's list takes the failure's file from the last line ending in .test.js above it.
      const above = out
        .slice(0, out.indexOf(' FAIL '))
        .split('\n')
        .filter((l) => /\.test\.js$/.test(l))
        .pop();
      assert.is(above?.trim(), broken === 'cpu' ? 'a-cpu.test.js' : 'b-real.test.js');
      assert.match(out, /Total:\s+3\n\s+Passed:\s+2\n/);
      assert.match(out, new RegExp(`${broken}( \\d/\\d)? lane: \\d+ files, \\d+ tests, [\\d.]+ s, failed`));
    } finally {
      t.done();
    }
  }
});

test.run();
