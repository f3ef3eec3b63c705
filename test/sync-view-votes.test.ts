import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../src/sync/ring.js';
import { ScaleSite } from './swarm/scale-site.js';
import { missedStart } from './helpers/missed-start.js';

/**
 * The 200-agent cold start's last pair (issue 18; the bench's logged run of 03:47 UTC, 2026-11-29): viewer 130 learnt
 * agent-104 70 s after it started. 104 had started before 130, so its announcement and its asks at its start were
 * over before 130 was there; 130's join summary came from a peer that did not hold 104 yet, and its join checks
 * compared with peers that did not either; 104's multicast heartbeat was 80 s away. Here, on a site whose multicast
 * heartbeats are stretched (100 agents: each one's multicast ~40 s apart), a host is cut off from a new agent alone while it starts
 * and asks around (its announcement, its solicit, its asks at every endpoint: 10 s), and its multicast heartbeats keep
 * missing the host after: the rest of the site holds it, and the site's heartbeats name their view's digest.
 */
test('a host that missed a new agent while every other holds it learns it from the site heartbeats view', async () => {
  const site = new ScaleSite(11, 'default', 2);
  await site.startSettled(100);
  try {
    const host = 'agent-50';
    const origin = 'agent-100';
    const near = new Ring([...site.names, origin]);
    assert.ok(!near.subjectsOf(host).includes(origin) && !near.monitorsOf(host).includes(origin), 'ring neighbours');
    // Its multicast heartbeats, one drawn anywhere in minutes, still miss the host: only the others tell it.
    const held = await missedStart(site, host, origin, 101, () => site.sim.clock.advance(10_000));
    const others = site.names.filter((n) => n !== origin && n !== host);
    const holding = others.filter((n) => site.agent(n).agent.directory.held(origin)?.version === 1);
    const since = site.now();
    while (held()?.version !== 1 && site.now() - since < 60_000) await site.sim.clock.advance(250);
    const took = site.now() - since;
    console.log(`  ${holding.length} of ${others.length} others held ${origin} at 10 s; ${host} ${took} ms after`);
    assert.ok(holding.length >= others.length - 2, `only ${holding.length} others held ${origin}`);
    assert.is(held()?.version, 1, `${host} did not hold ${origin} 60 s after it could hear it`);
    assert.ok(took <= 15_000, `${host} learnt ${origin} ${took} ms after it could hear it`);
  } finally {
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

test.run();
