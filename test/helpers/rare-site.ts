import { ScaleSite } from '../swarm/scale-site.js';

/**
 * 100 agents whose multicast budget is that of 1,000 agents or less (36 B/s on the wire: one heartbeat in
 * about 3 minutes each, one every 2 s site-wide), so a missed announcement is hinted almost only by the
 * host's 2 subjects on the ring, in their unicast heartbeats. Started 10 ms apart, then 20 s to settle.
 */
export async function rareSite(seed: number): Promise<ScaleSite> {
  const site = new ScaleSite(seed, 'default', 2, { heartbeatBudget: 36 });
  for (let i = 0; i < 100; i++) {
    await site.start(`agent-${i}`, i + 1);
    await site.sim.clock.advance(10);
  }
  await site.sim.clock.advance(20_000);
  return site;
}
