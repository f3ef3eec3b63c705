import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * attack15, surface 4 (moves): can an open-site forger make agents probe an address of its choosing, again and
 * again? A heartbeat of a known agent's current life from another address asks for a probe there (a move is
 * believed once that answers, cluster-sync.ts `arrive`). Without a key the datagram is anyone's and its source
 * address too (any on-link host): one multicast heartbeat per agent's name makes every agent probe the victim
 * address at the port the datagram names, once per name, and again as soon as each probe settles. The only bound
 * is one probe of a peer at a time. Names learnt second-hand (mDNS adverts, a summary, a hello's asker) are probed
 * at most 5 a second per agent (burst 20, docs/security.md *Bounds*); this test asks the same of these.
 *
 * 30 agents, a forged heartbeat of each of the 29 others every 300 ms for 10 s from a victim address where nothing
 * answers: each agent made ~29 probes a second there (one per name per 1 s deadline), 6,960 in all, known failing
 * before ghost14; now an open site's move probes take a token of src/sync/move-probes.ts's bucket: 1,950.
 */
const AGENTS = 30;
const VICTIM = '10.0.9.8';
const SECONDS = 10;
test('open site: forged heartbeats from another address draw at most 5 probes a second an agent', async () => {
  const site = new SimSite(1502, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  try {
    for (let i = 0; i < AGENTS; i++) {
      await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
      await site.clock.advance(5);
    }
    await site.clock.advance(15_000);
    site.network.vacant.add(VICTIM); // nothing answers there: each probe waits out its deadline
    const forged = [...site.agents.values()].map((a) => {
      const [incarnation, version] = [a.agent.local.incarnation, a.agent.local.currentVersion];
      const msg = {
        type: MessageType.heartbeat,
        site: 'sim',
        name: a.name,
        incarnation,
        version,
        peerPort: 80,
        hints: [],
      };
      return encodeMessage(msg).bytes;
    });
    let requests = 0;
    site.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.to.startsWith(`${VICTIM}:`)) requests++;
    };
    for (let t = 0; t < SECONDS * 1000; t += 300) {
      for (const data of forged) site.network.inject(VICTIM, data);
      await site.clock.advance(300);
    }
    site.network.onEvent = undefined;
    const bound = AGENTS * (20 + 5 * SECONDS);
    console.log(`  ${requests} requests to ${VICTIM} in ${SECONDS} s from ${AGENTS} agents (bound ${bound})`);
    assert.ok(requests <= bound, `${requests} requests to the forged address`);
  } finally {
    await site.stopAll();
  }
});

test.run();
