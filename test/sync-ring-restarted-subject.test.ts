import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drawSpree, runSpree } from './swarm/spree.js';

/**
 * Attack finding (attack11, spree seed 331; known failing, HERALD_KNOWN_FAILING=1). 47 agents at a budget of
 * 36 B/s (multicast heartbeats minutes apart), 40 % loss, three bursts; agent-21's two ring subjects, agent-30
 * and agent-31, restarted with new incarnations (at 50.5 s and 71.2 s). A restarted agent learns its peers
 * second-hand (its cold start's summaries), so it has no datagram endpoint for one until it hears a datagram
 * of it, and a unicast round goes only to monitors with one (announcer.ts heartbeatMonitors). agent-21
 * multicasts minutes apart and unicasts only to its own monitors: both subjects carried the burst's hints
 * 5-6 rounds each, to agent-20 and to each other, none to agent-21, which lacked 3 changes 20 s later (held
 * agent-13 at 2, target 2: no hint of 3 ever reached it). A fix must give a restarted subject its monitors'
 * datagram endpoints (the peer endpoint's address at the site's port, or a probe's answer): left to the lead.
 */
const name = "a monitor whose ring subjects restarted still hears a burst's hints from them (spree seed 331)";
const run = async (): Promise<void> => {
  const res = await runSpree(drawSpree(331));
  assert.is(res.undelivered, 0, res.problems.join('; '));
};
if (process.env.HERALD_KNOWN_FAILING === '1') test(name, run);
else test.skip(name, run);

test.run();
