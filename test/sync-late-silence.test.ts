import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Scenario, multicastSite } from './swarm/scenario.js';
import { runScenario } from './swarm/run-seed.js';

const agents = multicastSite(40);

/** 40 agents from `seed`, running `faults` until `faultMs`, then quiet for `quietMs`; traced. */
const run = (seed: number, faultMs: number, quietMs: number, faults: Scenario['faults']) =>
  runScenario({ seed, heartbeatMs: 1000, agents, faultMs, quietMs, faults }, true);

/** The hellos `asker` sent, from the simulator's trace: liveness probes and summaries, or digest compares. */
function hellosBy(trace: string[], asker: string, digests = false): number {
  const hellos = trace.filter((l) => new RegExp(`request ${asker} -> \\S+ hello\\?`).test(l));
  return hellos.filter((l) => /[?&]digest=1/.test(l) === digests).length;
}

/**
 * The peers fall silent for their own reasons (here: agent-0 is cut off from them for 10 s while its loop runs
 * in 2.5 s turns). Every silent peer was checked at once, each probe excused as `lagged` (no evidence) and asked
 * again: 42 probes by agent-0. A late agent now keeps at most LATE_CHECKS checks under way (Lifeguard: one probe
 * per scaled interval): 13. It loses none of them either way (its timeouts are excused), and nothing else changes.
 */
test('simulator: a late agent whose peers all fall silent checks a few at a time', async () => {
  const result = await run(3, 40_000, 30_000, [
    { at: 5000, until: 40_000, kind: 'lag', to: 'agent-0', stallMs: 2500, everyMs: 2500 },
    { at: 10_000, until: 20_000, kind: 'partition', side: ['agent-0'] },
  ]);
  assert.equal(result.violations, [], 'no false loss, no ghost');
  const hellos = hellosBy(result.trace!, 'agent-0');
  assert.ok(hellos <= 16, `agent-0 probed ${hellos} times`);
  // Its peers heard again after its late timeouts: views compared (rejoin.ts, ghost14), one in 10 periods at most.
  const compares = hellosBy(result.trace!, 'agent-0', true);
  assert.ok(compares <= 3, `agent-0 compared views ${compares} times`);
});

test.run();
