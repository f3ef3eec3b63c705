import type { Clock } from './clock.js';

/**
 * Token buckets by key (a source address): `rate` a second sustained, `burst` at once. The map is
 * bounded: when full, it is cleared, which at worst lets a flood of sources through one burst each.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxKeys = 4096,
  ) {}

  take(key: string, cost = 1): boolean {
    const now = this.clock.monotonic();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.clear();
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /** Milliseconds until `key` has a token again. */
  waitMs(key: string): number {
    const b = this.buckets.get(key);
    if (!b || b.tokens >= 1) return 0;
    return ((1 - b.tokens) / this.rate) * 1000;
  }
}
