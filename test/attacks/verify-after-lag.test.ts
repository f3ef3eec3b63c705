import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleSite } from '../swarm/scale-site.js';

const SITE = 10;

/**
 * Attack on the verification back-off counting tries (sweep.ts): the viewer's loop is late for 60 s (every
 * probe excused as lagged, its tries at the 16-period ceiling) while the newcomer it holds second-hand never
 * answers it; then both recover. Its next change must reach the viewer at once, verifying it, not wait out
 * the 16-period back-off of the verification probe (which alone took 20 s here).
 */
test("after a long lag, a second-hand agent's change arrives at once and verifies it", async () => {
  const site = new ScaleSite(1822, 'default', 2);
  try {
    await site.startSettled(SITE);
    const viewer = 'agent-0';
    const name = `agent-${SITE}`;
    type Health = { timedOut(due: number, deadline: number): boolean };
    const health = (site.agent(viewer).agent as unknown as { sync: { liveness: { health: Health } } }).sync.liveness
      .health;
    const timedOut = health.timedOut.bind(health);
    health.timedOut = () => true;
    site.sim.network.rpcFaults = (from, to, route) => {
      if (from !== site.addressOf(viewer) || to !== site.addressOf(name)) return undefined;
      return route === 'changes' ? { kind: 'fail' } : { kind: 'hang' };
    };
    // Nor by datagram (challenge21): the viewer's announce challenge, or its echo, would verify the newcomer.
    site.sim.network.dropAtSend = (from, to, kind) => {
      const pair = [site.addressOf(viewer), site.sim.agents.get(name)?.address];
      return kind === 'unicast' && pair.includes(from) && pair.includes(to);
    };
    await site.start(name, SITE + 1);
    const joined = site.watchVersion(name, 1);
    await site.until(joined, 10_000, 10);
    await site.sim.clock.advance(60_000);
    assert.not.ok(site.verified(viewer, name), 'unverified while the viewer lags');
    health.timedOut = timedOut;
    site.sim.network.rpcFaults = undefined;
    site.sim.network.dropAtSend = undefined;
    // Its next change reaches the viewer from its endpoint at once (verifying it), not after the back-off.
    const version = await site.change(name);
    const changed = site.watchVersion(name, version);
    await site.until(changed, 30_000, 10);
    const took = Math.round(changed.times.get(viewer) ?? Infinity);
    console.log(`  its change held by the recovered viewer after ${took} ms; verified: ${site.verified(viewer, name)}`);
    assert.ok(took <= 1000, `the change held after ${took} ms`);
    assert.ok(site.verified(viewer, name), 'and the newcomer verified by the catch-up at its endpoint');
  } finally {
    site.sim.network.rpcFaults = undefined;
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

test.run();
