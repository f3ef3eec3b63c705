import type { Clock } from './clock.js';

/** Says yes once per key per interval: logs name a bad source once a minute, not once per packet. */
export class RateLimitedLog {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly maxKeys = 1024,
  ) {}

  allow(key: string): boolean {
    const now = this.clock.monotonic();
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.intervalMs) return false;
    if (this.last.size >= this.maxKeys) this.last.clear(); // bounded: a flood of sources cannot grow it
    this.last.set(key, now);
    return true;
  }
}
