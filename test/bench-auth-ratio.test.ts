import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keyedCpuRatio, keyedCpuSpread, pairRatios } from '../bench/figures.js';
import { benchOptions, benchPlan } from '../bench/plan.js';
import { protocolCpuPair } from '../bench/protocol-cpu.js';
import type { BenchRun, ScenarioResults } from '../bench/run.js';
import { judgeTargets } from '../bench/targets.js';

// The authentication step's figure (keyed ÷ open CPU per change) and how far it may move (gc16).

function resultsOf(open: number[], keyed: number[]): ScenarioResults {
  return {
    propagation: [],
    idle: [],
    coldStart: [],
    crash: [],
    flood: undefined,
    authCost: { open, keyed },
    scale: [],
  };
}

function runOf(results: ScenarioResults): BenchRun {
  const machine = {
    cpu: 't',
    cores: 2,
    memoryGiB: 1,
    node: 'v20',
    kernel: 't',
    date: '',
    mode: 'full',
    heartbeatMs: 1000,
  };
  return { options: benchOptions([]), plan: benchPlan(false), machine, results, service: { skipped: [] } } as BenchRun;
}

test('the figure is the median of each pair’s ratio: one keyed run on a busy machine does not move it', () => {
  // Three pairs at three machine loads, keyed 5 % dearer in each; the first pair's keyed run met a busier moment.
  const results = resultsOf([1, 2, 3], [2.2, 2.1, 3.15]);
  assert.equal(
    pairRatios(results).map((r) => r.toFixed(2)),
    ['2.20', '1.05', '1.05'],
  );
  assert.is(keyedCpuRatio(results)!.toFixed(2), '1.05', 'the ratio of the medians (2.1 ÷ 2) read 1.10');
});

test('the pairs’ spread is reported beside the figure', () => {
  const results = resultsOf([1, 1, 1, 1], [1.02, 1.06, 1.08, 1.3]);
  const s = keyedCpuSpread(results);
  assert.equal(
    [s.min, s.p25, s.p75, s.max].map((r) => r.toFixed(2)),
    ['1.02', '1.02', '1.08', '1.30'],
  );
  const judged = judgeTargets(runOf(results)).find((t) => t.target.startsWith('authentication costs'));
  assert.ok(judged, 'the target is judged');
  assert.match(judged.value, /^\+6 % \(pairs' middle half \+2 to \+8 %/);
});

test('a pair runs an open and a keyed site side by side, each change counted to its own site', async () => {
  for (const keyedFirst of [false, true]) {
    const cost = await protocolCpuPair(3, 4, keyedFirst);
    assert.ok(cost.open > 0 && cost.keyed > 0, `both sites spent CPU: ${JSON.stringify(cost)}`);
  }
});

test('no pairs, no figure', () => {
  assert.is(keyedCpuRatio(resultsOf([], [])), undefined);
});

test.run();
