import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchOptions, benchPlan } from '../bench/plan.js';
import { betweenMarkers, MissingMarkers } from '../bench/report/files.js';
import { readmeParagraph } from '../bench/report/readme.js';
import type { BenchRun } from '../bench/run.js';
import type { PropagationResult } from '../bench/scenarios.js';
import { judgeTargets } from '../bench/targets.js';

// The bench's report from figures given here: what the README and the targets table say of a run.

function propagationRow(system: string, agents: number, loss: number, p99: number): PropagationResult {
  return {
    system,
    agents,
    loss,
    changes: 40,
    latencyMs: { p50: p99 / 2, p99, max: p99, n: 40 },
    undelivered: 0,
    datagramsPerChange: 1,
    wireBytesPerChangePerReceiver: 10,
    httpRequestsPerChange: 0,
    cpuMsPerChange: 1,
  };
}

function runWith(propagation: PropagationResult[]): BenchRun {
  const options = benchOptions(['--quick']);
  return {
    options,
    plan: benchPlan(true),
    machine: {
      cpu: 'test',
      cores: 2,
      memoryGiB: 1,
      node: 'v20',
      kernel: 'test',
      date: '2026-11-26T00:00:00.000Z',
      mode: 'quick',
      heartbeatMs: 1000,
    },
    results: {
      propagation,
      idle: [],
      coldStart: [],
      crash: [],
      flood: undefined,
      authCost: { open: [], keyed: [] },
      scale: [],
    },
    service: { skipped: [] },
  };
}

test('a target the run did not measure is "not measured", not met or failed', () => {
  const judged = judgeTargets(runWith([]));
  assert.ok(judged.length >= 18);
  for (const t of judged) assert.equal([t.value, t.met], ['not measured', 'not measured'], t.target);
});

test('p99 at 0 % loss is judged against its 20 ms threshold', () => {
  const p99At0 = (p99: number) =>
    judgeTargets(runWith([propagationRow('herald', 50, 0, p99)])).find((t) => t.target.startsWith('p99 ≤ 20 ms'));
  assert.equal(p99At0(12)?.met, 'met');
  assert.equal(p99At0(12)?.value, '12 ms');
  assert.equal(p99At0(25)?.met, 'NOT met');
});

test("the README paragraph carries this run's figures and names the targets not met", () => {
  const run = runWith([propagationRow('herald', 50, 0, 25), propagationRow('herald', 50, 0.3, 140)]);
  const text = readmeParagraph(run, judgeTargets(run));
  assert.match(text, '| p99 of a change reaching every agent, 0 % loss | 25 ms | not measured | not measured |');
  assert.match(text, '| p99 at 30 % datagram loss | 140 ms | not measured | (no datagrams) |');
  const prose = text.replace(/\n/g, ' '); // wrapped as the README's prose is
  assert.match(prose, 'Nothing went undelivered at 0 or 30 % loss with 50 agents');
  assert.match(prose, 'Not met yet: p99 ≤ 20 ms at 0 % loss, 50 agents: 25 ms');
  for (const line of text.split('\n')) assert.ok(line.length <= 120 || line.startsWith('|'), line);
});

test('only the text between the markers is replaced', () => {
  const readme = '# Herald\n\nintro\n<!-- bench:begin -->\nold figures\n<!-- bench:end -->\n\n## Next\n';
  const updated = betweenMarkers('README.md', readme, '<!-- bench:begin -->', '<!-- bench:end -->', 'new figures');
  assert.is(updated, '# Herald\n\nintro\n<!-- bench:begin -->\nnew figures\n<!-- bench:end -->\n\n## Next\n');
  const again = betweenMarkers('README.md', updated, '<!-- bench:begin -->', '<!-- bench:end -->', 'new figures');
  assert.is(again, updated);
});

test('a file without the markers is refused, and left as it was', () => {
  assert.throws(
    () => betweenMarkers('README.md', '# Herald\n', '<!-- bench:begin -->', '<!-- bench:end -->', 'x'),
    (e: unknown) => e instanceof MissingMarkers && e.file === 'README.md',
  );
});

test.run();
