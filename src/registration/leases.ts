import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * TTL deadlines of registrations, on the monotonic clock, with one timer for the soonest. Leases that
 * are due together are handed over together, so that they lapse in one version.
 */
export class Leases {
  private readonly deadlines = new Map<string, number>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (ids: string[]) => void,
  ) {}

  /** Starts (or restarts) a lease of `ttlMs`; undefined removes any lease: the registration stays until withdrawn. */
  set(id: string, ttlMs: number | undefined): void {
    if (ttlMs === undefined) this.deadlines.delete(id);
    else this.deadlines.set(id, this.clock.monotonic() + ttlMs);
    this.arm();
  }

  delete(id: string): void {
    if (this.deadlines.delete(id)) this.arm();
  }

  /** Wall-clock expiry, for people. */
  expiresAt(id: string): number | undefined {
    const deadline = this.deadlines.get(id);
    return deadline === undefined ? undefined : this.clock.now() + Math.max(0, deadline - this.clock.monotonic());
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
  }

  private arm(): void {
    this.clock.clearTimeout(this.timer);
    if (this.deadlines.size === 0) return;
    const next = Math.min(...this.deadlines.values());
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, next - this.clock.monotonic()));
    this.timer.unref?.();
  }

  private fire(): void {
    const now = this.clock.monotonic();
    const due = [...this.deadlines].filter(([, at]) => at <= now).map(([id]) => id);
    for (const id of due) this.deadlines.delete(id);
    this.arm();
    if (due.length > 0) this.onDue(due);
  }
}
