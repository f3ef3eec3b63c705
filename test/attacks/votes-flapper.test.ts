import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../../src/sync/ring.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { missedStart } from '../helpers/missed-start.js';

/** One agent's link flaps: down DOWN ms, up UP ms, over and over; its monitors lose it and it refutes each time. */
const [DOWN, UP] = [5_000, 2_000];

/**
 * A view that never settles (sync/view-votes.ts's steady rule). The votes mend a host that missed a new agent
 * (test/sync-view-votes.test.ts: 500 ms) only once the host's own view has stayed as it is for 5 periods. Here one
 * other agent's link flaps: every view on the site moved each few seconds, the host's too, so the steady rule seldom
 * held and the host waited. Measured (seed 11, 60 agents): 35,250 ms with the flapper (one vote exchange, at last),
 * 250-750 ms without it or with a flapper its monitors never lose (down 3 s). Now the heartbeats name the settled view
 * (sync/settled-view.ts: agents whose liveness moved in the last 5 periods left out): 250 ms with the flapper.
 */
test('a flapping agent elsewhere on the site does not keep a host from learning a new agent by votes', async () => {
  const site = new ScaleSite(11, 'default', 2);
  await site.startSettled(59);
  const flapper = site.addressOf('agent-45');
  try {
    const host = 'agent-30';
    const origin = 'agent-59';
    const near = new Ring([...site.names, origin]);
    assert.ok(!near.subjectsOf(host).includes(origin) && !near.monitorsOf(host).includes(origin), 'ring neighbours');
    const t0 = site.now();
    const step = async () => {
      site.sim.network.setDown(flapper, (site.now() - t0) % (DOWN + UP) < DOWN);
      await site.sim.clock.advance(250);
    };
    // Its multicast heartbeats, one drawn anywhere in minutes, still miss the host: only the others tell it.
    const held = await missedStart(site, host, origin, 60, async () => {
      while (site.now() - t0 < 30_000) await step();
    });
    const since = site.now();
    while (held()?.version !== 1 && site.now() - since < 60_000) await step();
    const took = site.now() - since;
    console.log(`  ${host} held ${origin} ${took} ms after it could hear it, beside a flapping agent`);
    assert.is(held()?.version, 1, `${host} did not hold ${origin} 60 s after it could hear it`);
    assert.ok(took <= 15_000, `${host} learnt ${origin} ${took} ms after it could hear it`);
  } finally {
    site.sim.network.dropAtSend = undefined;
    site.sim.network.setDown(flapper, false);
    await site.stopAll();
  }
});

test.run();
