import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drawSpree, runSpree } from './swarm/spree.js';

/**
 * Attack finding (attack11, spree seed 331; fixed in ring13). 47 agents at a budget of 36 B/s (multicast
 * heartbeats minutes apart), 40 % loss, three bursts; agent-21's two ring subjects, agent-30 and agent-31,
 * restarted with new incarnations (at 50.5 s and 71.2 s). A restarted agent learns its peers second-hand (its
 * cold start's summaries), so it had no datagram endpoint for one until it heard a datagram of it, and a unicast
 * round went only to monitors with one. agent-21 multicasts minutes apart: both subjects carried the burst's
 * hints 5-6 rounds each, to agent-20 and to each other, none to agent-21, which lacked 3 changes 20 s later.
 * Now a subject asks a monitor never heard for its datagram endpoint with a liveness probe at the monitor's
 * peer endpoint, whose answer names it (endpoint-proofs.ts; never a summary's word: the forged-summary tests in
 * test/sync-ring-endpoint-proof.test.ts).
 */
test("a monitor whose ring subjects restarted still hears a burst's hints from them (spree seed 331)", async () => {
  const res = await runSpree(drawSpree(331));
  assert.is(res.undelivered, 0, res.problems.join('; '));
  assert.equal(res.problems, []);
});

test.run();
