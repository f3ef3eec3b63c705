/** A source of uniform numbers in [0, 1), injected so that jitter and loss repeat under a seed. */
export type Random = () => number;

/** mulberry32: tiny, fast and good enough for jitter and simulated loss (not for secrets). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `base` spread uniformly by ±fraction, so that periodic senders do not fall into step. */
export function jitter(random: Random, base: number, fraction: number): number {
  return base * (1 - fraction + 2 * fraction * random());
}
