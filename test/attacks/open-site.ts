import { device, SimSite } from '../helpers/sim.js';

/**
 * An open (unkeyed) simulated site of `agents` agents, settled for 15 s: heartbeats stretched from about 40
 * agents on, a ring of monitors, and every agent a verified member of every other's view.
 */
export async function openSite(seed: number, agents: number): Promise<SimSite> {
  const site = new SimSite(seed, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  for (let i = 0; i < agents; i++) {
    await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    await site.clock.advance(5);
  }
  await site.clock.advance(15_000);
  return site;
}
