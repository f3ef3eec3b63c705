import type { ScaleSite } from '../swarm/scale-site.js';

/** Starts spread over this long: every member a newcomer asks is itself a newcomer, still catching up. */
export const FAST_START_SPREAD_MS = 1_500;
/** Every catch-up answered this late (loaded loops, as on real sockets): a member lacks what it is still fetching. */
export const FAST_START_ANSWER_MS = 400;

/**
 * A fast start of `size` agents over FAST_START_SPREAD_MS, every catch-up answered FAST_START_ANSWER_MS late
 * (test/sync-bulk-fast-start and the second member's attacks). `starting` runs before each agent starts.
 * Resolves with when every agent first held every set, if within 30 s.
 */
export async function fastStart(
  site: ScaleSite,
  size: number,
  starting: (name: string, index: number) => void = () => {},
): Promise<number | undefined> {
  site.sim.network.rpcFaults = (_from, _to, route) =>
    route === 'changes' ? { kind: 'late', delayMs: FAST_START_ANSWER_MS } : undefined;
  for (let i = 0; i < size; i++) {
    starting(`agent-${i}`, i);
    await site.start(`agent-${i}`, i + 1);
    await site.sim.clock.advance(FAST_START_SPREAD_MS / size);
  }
  for (let t = FAST_START_SPREAD_MS; t <= 30_000; t += 50) {
    await site.sim.clock.advance(50);
    if (site.names.every((a) => site.holdsAll(a) >= size)) return t;
  }
  return undefined;
}
