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

/** The hellos (probes) the honest agents, all but `hostile`, send in `ms` while `each` runs once a second. */
export async function honestHellos(
  site: SimSite,
  hostile: string,
  ms: number,
  each: () => void,
): Promise<{ from: string; to: string }[]> {
  const hellos: { from: string; to: string }[] = [];
  const address = site.agents.get(hostile)!.address;
  site.network.onEvent = (e) => {
    if (e.type === 'rpc' && e.route === 'hello' && e.from !== address) hellos.push({ from: e.from, to: e.to });
  };
  for (let t = 0; t < ms; t += 1000) {
    each();
    await site.clock.advance(1000);
  }
  site.network.onEvent = undefined;
  return hellos;
}
