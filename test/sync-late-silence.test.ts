import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Scenario, multicastSite } from './swarm/scenario.js';
import { runScenario } from './swarm/run-seed.js';

const agents = multicastSite(40);

/** 40 agents from `seed`, running `faults` until `faultMs`, then quiet for `quietMs`; traced. */
const run = (seed: number, faultMs: number, quietMs: number, faults: Scenario['faults']) =>
  runScenario({ seed, heartbeatMs: 1000, agents, faultMs, quietMs, faults }, true);

/** The hellos (liveness probes) `asker` sent, from the simulator's trace. */
function hellosBy(trace: string[], asker: string): number {
  return trace.filter((l) => new RegExp(`request ${asker} -> \\S+ hello\\?`).test(l)).length;
}

/**
 * Issue 18, the 200-agent cold start on a loaded machine (loops 5-13 s late): 320k probes, 273k of them
 * `lagged`, 1.3k answered alive. After a long turn Node runs the due timers before it reads the sockets, so
 * the sweep saw every peer silent for the whole turn with its heartbeats unread, and probed it; the probe was
 * timed out by the next late turn, excused, and asked again. The silence a turn explains is now no silence
 * (sweep.ts lateSilence): here agent-0, in turns of `stallMs` for 55 s, probed its 39 live peers 118 times
 * (9 s turns) and 13 times (3 s every 9 s); now only its join probe. Nothing else changes: no false loss.
 */
for (const [stallMs, everyMs] of [
  [9000, 9000],
  [3000, 9000],
]) {
  test(`simulator: a loop in ${stallMs} ms turns every ${everyMs} ms does not probe peers it hears`, async () => {
    const result = await run(7, 60_000, 20_000, [
      { at: 5000, until: 60_000, kind: 'lag', to: 'agent-0', stallMs, everyMs },
    ]);
    assert.equal(result.violations, [], 'no false loss, no ghost');
    const hellos = hellosBy(result.trace!, 'agent-0');
    assert.ok(hellos <= 3, `agent-0 probed live peers it hears ${hellos} times`);
  });
}

/**
 * The peers fall silent for their own reasons (here: agent-0 is cut off from them for 10 s while its loop runs
 * in 2.5 s turns). Every silent peer was checked at once, each probe excused as `lagged` (no evidence) and asked
 * again: 42 probes by agent-0. A late agent now keeps at most LATE_CHECKS checks under way (Lifeguard: one probe
 * per scaled interval): 6. It loses none of them either way (its timeouts are excused), and nothing else changes.
 */
test('simulator: a late agent whose peers all fall silent checks a few at a time', async () => {
  const result = await run(3, 40_000, 30_000, [
    { at: 5000, until: 40_000, kind: 'lag', to: 'agent-0', stallMs: 2500, everyMs: 2500 },
    { at: 10_000, until: 20_000, kind: 'partition', side: ['agent-0'] },
  ]);
  assert.equal(result.violations, [], 'no false loss, no ghost');
  const hellos = hellosBy(result.trace!, 'agent-0');
  assert.ok(hellos <= 12, `agent-0 probed ${hellos} times`);
});

test.run();
