import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Scenario, multicastSite } from './swarm/scenario.js';
import { runScenario } from './swarm/run-seed.js';

const agents = multicastSite(8, (i) => (i === 0 ? 6000 : 0));

/** The catch-up requests `viewer` made, per origin asked, from the simulator's trace. */
function catchUps(trace: string[], viewer: string): Map<string, number> {
  const asked = new Map<string, number>();
  for (const l of trace) {
    const m = /request (agent-\d+) -> (agent-\d+) changes\?/.exec(l);
    if (m && m[1] === viewer) asked.set(m[2], (asked.get(m[2]) ?? 0) + 1);
  }
  return asked;
}

/**
 * A newcomer whose event loop runs in turns of 2.5 s (50 agents in one busy process: the latency table's
 * 100-agent cold start, which never converged in 30 s). Every catch-up it asked had a fixed 2 s deadline, which
 * fired in the same turn that read the answer, before it: 7,000 of the first 8,000 catch-ups of that cold start
 * failed after the peers had served them, and were asked again. A catch-up's deadline is now stretched by the
 * agent's local health, as its probes' are (Lifeguard): the newcomer asks each peer once (at most twice, if
 * its first turn came before it had measured its lag), not every few seconds for as long as the lag lasts.
 */
test('simulator: a newcomer whose loop lags still completes its catch-ups', async () => {
  const scenario: Scenario = {
    seed: 7,
    heartbeatMs: 1000,
    agents,
    faultMs: 40_000,
    quietMs: 10_000,
    faults: [{ at: 2000, until: 40_000, kind: 'lag', to: 'agent-0', stallMs: 2500, everyMs: 2500 }],
  };
  const result = await runScenario(scenario, true);
  assert.equal(result.violations, [], 'no false loss, no ghost, converged after the lag');
  const asked = catchUps(result.trace!, 'agent-0');
  assert.is(asked.size, 7, 'the newcomer asked every peer');
  for (const [origin, n] of asked)
    assert.ok(n <= 2, `agent-0 asked ${origin} ${n} times: its answers were thrown away`);
});

test.run();
