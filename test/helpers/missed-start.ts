import type { ScaleSite } from '../swarm/scale-site.js';

/**
 * View votes' case (src/sync/view-votes.ts): `origin` starts as agent number `index` while `host` and it cannot hear
 * each other (cut both ways through `meanwhile`), then they can, except the origin's multicasts to the host: a host
 * that missed a new agent's start and its stretched heartbeats, which only the others' views can tell it of.
 * Resolves with what the host holds of the origin; `site.sim.network.dropAtSend` stays set (the caller clears it).
 */
export async function missedStart(
  site: ScaleSite,
  host: string,
  origin: string,
  index: number,
  meanwhile: () => Promise<void>,
) {
  const to = site.addressOf(host);
  const at = `10.0.${(index >> 8) & 255}.${index & 255}`; // ScaleSite.start's address for `index`
  site.sim.network.cut(at, to, true);
  site.sim.network.cut(to, at, true);
  await site.start(origin, index);
  await meanwhile();
  site.sim.network.cut(at, to, false);
  site.sim.network.cut(to, at, false);
  site.sim.network.dropAtSend = (from, dest, kind) => from === at && dest === to && kind === 'multicast';
  return () => site.agent(host).agent.directory.held(origin);
}
