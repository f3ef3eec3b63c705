import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../../src/sync/ring.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { missedStart } from '../helpers/missed-start.js';

/** Two agents' links flap: down DOWN ms, up UP ms, over and over, the second SHIFT ms out of step with the first. */
const [DOWN, UP, SHIFT] = [3_000, 6_000, 3_000];

/**
 * attack21 on the settled view (sync/settled-view.ts): votes-flapper's one flapper (down 5 s, up 2 s) never settles
 * back in, but a flapper up longer than the settle time (5 periods) did each cycle, and two of them half a cycle apart
 * moved every view on the site each 3-4 s, so the votes' steady rule never held again. Measured (60 agents): 33,250
 * ms here (seeds 12, 13; 36,250 down 6 s up 6 s; 34,250 down 4 s up 6 s; 250 with one flapper down 1 s up 5.5 s),
 * as one flapper cost before the settled view (35,250). Now a flapping agent's settle time doubles with each move
 * that comes before twice its settle time has passed (up to 8 times): 9,000-10,000 ms on the same three cases.
 */
test('flapping agents in step against the settle time do not keep a host from learning a new agent', async () => {
  const site = new ScaleSite(12, 'default', 2);
  await site.startSettled(59);
  const flappers = ['agent-45', 'agent-12'].map((n) => site.addressOf(n));
  try {
    const host = 'agent-30';
    const origin = 'agent-59';
    const near = new Ring([...site.names, origin]);
    assert.ok(!near.subjectsOf(host).includes(origin) && !near.monitorsOf(host).includes(origin), 'ring neighbours');
    const t0 = site.now();
    const step = async () => {
      for (const [i, f] of flappers.entries())
        site.sim.network.setDown(f, (site.now() - t0 + i * SHIFT) % (DOWN + UP) < DOWN);
      await site.sim.clock.advance(250);
    };
    const held = await missedStart(site, host, origin, 60, async () => {
      while (site.now() - t0 < 30_000) await step();
    });
    const since = site.now();
    while (held()?.version !== 1 && site.now() - since < 120_000) await step();
    const took = site.now() - since;
    console.log(`  ${host} held ${origin} ${took} ms after it could hear it beside two flapping agents`);
    assert.is(held()?.version, 1, `${host} did not hold ${origin} 120 s after it could hear it`);
    assert.ok(took <= 15_000, `${host} learnt ${origin} ${took} ms after it could hear it`);
  } finally {
    site.sim.network.dropAtSend = undefined;
    for (const f of flappers) site.sim.network.setDown(f, false);
    await site.stopAll();
  }
});

test.run();
