import type { Hint } from '../protocol/messages.js';
import { MAX_HINTS } from '../protocol/codec.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * How long the first notice waits for others of the same sweep, as a share of the liveness period: checks
 * started in one tick find their peers gone within milliseconds of each other (a refusal, or deadlines drawn
 * alike), and one datagram names them all. A tenth of a period is little beside the crash time (3.5 s).
 */
const GATHER_SHARE = 0.1;

/**
 * The lost notices this agent multicasts, at most one (sent twice, like a goodbye) per liveness period, the
 * subjects found meanwhile carried together in its hints (up to MAX_HINTS, the rest in the next). In the
 * bench's 200-agent cold start each notice was received by all 199 others, and one agent whose loop or link
 * failed it sent one per peer it checked: a bound per reporter caps what any agent's view costs the site
 * (SWIM piggy-backs its suspicions on the next message for the same reason).
 */
export class NoticeBatch {
  private readonly pending = new Map<number, Hint>();
  private timer: TimerHandle | undefined;
  private sentAt = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    /** Multicasts one notice naming `hints` (or unicasts it: a relay, announcer.ts). */
    private readonly send: (hints: Hint[]) => void,
    /** Copies of each notice, back to back: 2 for a multicast notice, as a goodbye; 1 for a relay. */
    private readonly copies = 2,
  ) {}

  /**
   * A subject this agent found lost: named in the next notice (a newer word of the same subject replaces it).
   * `gather` false: no wait for others of its sweep (a verdict judged at the end of a late loop's turn, where a
   * tenth of a period is one more turn), still at most one notice a period.
   */
  add(hint: Hint, gather = true): void {
    this.pending.set(hint.nameHash, hint);
    if (this.timer !== undefined) return;
    const now = this.clock.monotonic();
    const at = Math.max(now + (gather ? GATHER_SHARE * this.periodMs : 0), this.sentAt + this.periodMs);
    if (at <= now) return this.flush();
    this.timer = this.clock.setTimeout(() => this.flush(), at - now);
    this.timer.unref?.();
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private flush(): void {
    this.timer = undefined;
    const hints = [...this.pending.values()].slice(0, MAX_HINTS);
    for (const h of hints) this.pending.delete(h.nameHash);
    this.sentAt = this.clock.monotonic();
    for (let i = 0; i < this.copies; i++) this.send(hints);
    if (this.pending.size === 0) return;
    this.timer = this.clock.setTimeout(() => this.flush(), this.periodMs);
    this.timer.unref?.();
  }
}
