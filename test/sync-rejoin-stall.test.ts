import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario } from './swarm/run-seed.js';
import { multicastSite } from './swarm/scenario.js';
import { summariesAsked } from './swarm/trace.js';

/**
 * A view exchange (src/sync/rejoin.ts) is for a cut-off: an agent that heard no peer for 2 periods while its
 * own loop turned. An agent whose own loop stalled for 2 periods also hears no one until the stall ends, and
 * then asked a ring neighbour for its summary (~90 B an agent: 18 kB at 200) as if it had been cut off. In the
 * bench's 200 agents, 50 to a process, one stall of a process made its 50 agents ask one each: ~900 kB in a 5 s
 * idle window, ~900 B/s received per agent on top of ~450 (issue 18, idle12). A stall is this agent's own
 * lateness (LocalHealth), not the network's: it asks nothing. A cut-off still does (test/sync-rejoin.test.ts).
 */

test('an agent whose own loop stalls for 2.5 s at a time asks no neighbour for its view', async () => {
  const result = await runScenario(
    {
      seed: 5,
      heartbeatMs: 1000,
      agents: multicastSite(40),
      faultMs: 40_000,
      quietMs: 10_000,
      faults: [{ at: 15_000, until: 40_000, kind: 'lag', to: 'agent-3', stallMs: 2500, everyMs: 6000 }],
    },
    true,
  );
  assert.equal(result.violations, [], 'no false loss, no ghost');
  const trace = result.trace!;
  assert.ok(
    trace.some((l) => /request agent-3 -> /.test(l)),
    'the trace has agent-3’s requests',
  );
  assert.is(summariesAsked(trace, 'agent-3', 15_000), 0, 'agent-3 asked for summaries after its stalls');
});

test.run();
