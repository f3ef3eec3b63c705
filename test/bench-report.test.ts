import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchOptions, benchPlan, stepCount } from '../bench/plan.js';
import { betweenMarkers, MissingMarkers } from '../bench/report/files.js';
import { readmeParagraph } from '../bench/report/readme.js';
import { markdownReport } from '../bench/report/markdown.js';
import { scaleLoadTable, scalePlot, scaleTable } from '../bench/report/scale.js';
import type { BenchRun } from '../bench/run.js';
import { ChangeSequence } from '../bench/scale/changes.js';
import { processCount, SHARED_LOOPS } from '../bench/scale/process-cluster.js';
import { coldStartDeadlineMs, startSpreadMs } from '../bench/scale/cold-start.js';
import { parseScaleKnobs, scalePlan } from '../bench/scale/step.js';
import type { ScaleResult } from '../bench/scale/scale.js';
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

function scaleRow(system: string, agents: number, multicast: number, crashMs: number): ScaleResult {
  return {
    system,
    agents,
    coldStartMs: 4000,
    multicastBytesPerSecond: multicast,
    sentBytesPerSecondPerAgent: 60,
    receivedBytesPerSecondPerAgent: multicast,
    crashP99Ms: crashMs,
    crashUndetected: 0,
    change: [
      { loss: 0, changes: 20, p99Ms: 12, undelivered: 0, datagramsPerChange: 1 },
      { loss: 0.3, changes: 20, p99Ms: Infinity, undelivered: 2, datagramsPerChange: 1 },
    ],
    rssMiBPerAgent: 1,
    heapMiBPerAgent: 0.5,
    cpuPercentPerAgent: 0.1,
    processes: 4,
    phases: [
      {
        phase: 'idle',
        loads: [{ role: 'bench', pid: 1, cpuPercent: 3, cpuSeconds: 0.2, lagP99Ms: 12, lagMaxMs: 20, rssMiB: 90 }],
      },
    ],
    harnessLimited: false,
    limitedPhases: [],
    startSpreadMs: 20_000,
    coldStartCpuSeconds: 31.4,
    settleMs: 2000,
  };
}

test("the scale table divides by today's protocol in the same run, and issue 18's targets judge 200 agents", () => {
  const run = runWith([]);
  run.results.scale = [scaleRow('herald', 200, 1500, 2000), scaleRow('herald-unscaled', 200, 12_000, 4000)];
  const rows = scaleTable(run.results.scale).split('\n');
  assert.match(
    rows[2],
    /^\| herald \| 200 \| 4\.00 s \(spread 20 s, 31 CPU s\) \| 1500 \| 60 \/ 1500 \| 2\.00 s \| 12 ms \| 2 of 20 undelivered \|/,
  );
  assert.match(rows[2], /\| 0\.13 \/ 0\.50 \/ 1\.00 \|$/, 'received, crash and change 0 % over today');
  const judged = judgeTargets(run);
  const of = (start: string) => judged.find((t) => t.target.startsWith(start));
  assert.equal(of('site-wide idle multicast')?.met, 'met');
  assert.equal(of('idle traffic ≤ 300 B/s')?.met, 'NOT met', 'received 1500 B/s per agent');
  assert.equal(of('change p99 ≤ 1.5 s at 30 %')?.met, 'NOT met', 'two changes undelivered');
  const report = markdownReport(run, judged);
  assert.match(report, '### Scale: N agents with 10 devices each');
  assert.match(report, '![idle bytes per agent against site size](benchmarks-scale.svg)');
  assert.match(scalePlot(run.results.scale), '<polyline');
});

test('a row whose processes lagged is marked harness-limited, and the load table names each phase', () => {
  const row = { ...scaleRow('herald', 200, 1500, 2000), harnessLimited: true, limitedPhases: ['idle'] };
  assert.match(scaleTable([row]).split('\n')[2], /^\| herald \(harness-limited: idle\) \| 200 \|/);
  assert.match(scaleTable([row]).split('\n')[2], /\| 4: 12 ms \|/, 'four child processes, worst lag p99');
  assert.match(scaleLoadTable([row]), /\| herald \| 200 \| idle \| bench: 12 ms, 3 % \|/);
});

test('with one agent a process, a phase names the median and worst of 200 children, not each', () => {
  const bench = { role: 'bench', pid: 1, cpuPercent: 3, cpuSeconds: 0.2, lagP99Ms: 12, lagMaxMs: 20, rssMiB: 90 };
  const child = (i: number) => ({ ...bench, role: `agents ${i}-${i}`, pid: 2 + i, cpuPercent: 0.5, lagP99Ms: 10 + i });
  const loads = [bench, ...Array.from({ length: 200 }, (_, i) => child(i))];
  const row = { ...scaleRow('herald', 200, 1500, 2000), processes: 200, phases: [{ phase: 'idle', loads }] };
  const cell = scaleLoadTable([row]).split('\n')[2];
  assert.match(
    cell,
    'bench: 12 ms, 3 %; 200 agent processes: median 110 ms, worst 209 ms (agents 199-199), 100 % in all',
  );
  assert.not.match(cell, 'agents 5-5');
});

test("the scale step's changes run on across loss phases: no origin is handed a revision it already had", () => {
  const seq = new ChangeSequence(50);
  const had = new Set<string>();
  for (let k = 0; k < 40; k++) {
    const i = seq.next();
    const key = `${i}@${seq.revision[i]}`;
    assert.not.ok(had.has(key), `${key} repeated`);
    had.add(key);
  }
});

test('the scale step runs one Herald agent a child process, and the old layout of up to 50 agents in at most 4', () => {
  assert.equal(
    [10, 50, 200].map((n) => processCount(n)),
    [10, 50, 200],
  );
  assert.equal(
    [10, 50, 51, 200, 1000].map((n) => processCount(n, SHARED_LOOPS)),
    [1, 1, 2, 4, 4],
  );
  assert.equal(processCount(200, { agentsPerProcess: 5 }), 40);
});

test('above 50 agents the starts spread over 100 ms an agent and the cold start may take 180 s; flags override', () => {
  assert.equal([50, 200].map(startSpreadMs), [1000, 20_000]);
  assert.equal([50, 200].map(coldStartDeadlineMs), [60_000, 180_000]);
  assert.equal(parseScaleKnobs(['--scale-spread-s', '60', '--scale-processes', '8']), {
    spreadMs: 60_000,
    processes: 8,
    agentsPerProcess: undefined,
  });
  assert.equal(parseScaleKnobs([]), { spreadMs: undefined, processes: undefined, agentsPerProcess: undefined });
  assert.equal(parseScaleKnobs(['--scale-agents-per-process', '5']).agentsPerProcess, 5);
  assert.equal(parseScaleKnobs(['--scale-systems', 'herald,herald-shared']).only, ['herald', 'herald-shared']);
  const names = (only?: string[]) => scalePlan([200], { only }).systems.map((x) => x.name);
  assert.equal(names(), ['herald', 'herald-unscaled', 'swim'], 'herald-shared is herald at the default layout');
  assert.equal(names(['herald', 'herald-shared']), ['herald', 'herald-shared']);
  assert.equal(parseScaleKnobs(['--scale-systems', 'herald,swim']).only, ['herald', 'swim']);
  assert.throws(
    () => parseScaleKnobs(['--scale-systems', 'herald,consul']),
    (e: unknown) => e instanceof RangeError,
  );
  assert.throws(
    () => parseScaleKnobs(['--scale-processes', '2.5']),
    (e: unknown) => e instanceof RangeError,
  );
  assert.throws(
    () => parseScaleKnobs(['--scale-spread-s', 'x']),
    (e: unknown) => e instanceof RangeError,
  );
});

test("a change timed in the children shows the bench's own figure beside it (change13's change of method)", () => {
  const row = scaleRow('herald', 200, 1500, 2000);
  row.change[0] = { ...row.change[0], p99Ms: 9, p99BenchMs: 31 };
  assert.match(
    scaleTable([row]).split('\n')[2],
    /\| 2\.00 s \| 9\.0 ms \(through the bench: 31 ms\) \| 2 of 20 undelivered \|/,
  );
});

test('--scale-losses sets the change phases (several at 30 % to catch a rare miss); the plan keeps 0 and 30 % without it', () => {
  const losses = parseScaleKnobs(['--scale-losses', '0,0.3,0.3']).losses;
  assert.equal(losses, [0, 0.3, 0.3]);
  assert.equal(scalePlan([200], { losses }).losses, [0, 0.3, 0.3]);
  assert.equal(scalePlan([200], parseScaleKnobs([])).losses, [0, 0.3]);
  assert.throws(
    () => parseScaleKnobs(['--scale-losses', '0,30']),
    (e: unknown) => e instanceof RangeError,
  );
});

test('a scale row names the phases its harness was overloaded in, and what its cold start cost', () => {
  const row = { ...scaleRow('herald', 200, 1500, 2000), limitedPhases: ['cold start', 'crash'], harnessLimited: true };
  const line = scaleTable([row]).split('\n')[2];
  assert.match(
    line,
    /^\| herald \(harness-limited: cold start, crash\) \| 200 \| 4\.00 s \(spread 20 s, 31 CPU s\) \|/,
  );
});

test('--only auth runs the authentication pairs alone: open and keyed interleaved, one step a pair', () => {
  const options = benchOptions(['--only', 'auth']);
  assert.equal(options.only, 'auth');
  const plan = benchPlan(false);
  assert.equal(stepCount(plan, false, 'auth'), plan.authPairs.pairs);
  assert.throws(() => benchOptions(['--only', 'hmac']), /auth/);
});

test.run();
