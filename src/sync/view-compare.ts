import type { TimerHandle } from '../util/clock.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';
import { neighbourDigest, viewDigest } from './view-digest.js';

/** At most one digest compare in this many liveness periods: a doubt meanwhile waits for the next. */
export const COMPARE_EVERY_PERIODS = 10;

/**
 * Neighbours asked: the revived peer, then a ring neighbour, the second even when the first agrees. The revived
 * peer may itself have been cut off from what this agent missed (a crashed peer's monitors): it then holds the
 * same ghost and agrees (attack17, test/attacks/digest-behind-neighbour.test.ts). ~350 B more a compare.
 */
const COMPARE_ASKS = 2;

/**
 * A late loop's doubt (rejoin.ts): a peer unreached only while this agent's own loop was late, heard again. A real
 * cut (it may have missed the notices of a crash meanwhile: attack15's ghost) or only its late loop (nothing
 * missed: idle13's loaded cold start); its own timeouts cannot tell them apart, a ring neighbour's view can. A
 * hello to each of COMPARE_ASKS neighbours asks the digest of who it holds alive (view-digest.ts, `?digest=1`, no
 * summary), and only if one differs from this agent's does Rejoin make the exchange, under its minute's bound
 * (docs/protocol.md, *Rejoin*).
 * At most one compare in COMPARE_EVERY_PERIODS: a doubt within them is compared when they end (the neighbour's
 * view is read then, so a later cut's missed notices are in it), unless a summary was asked since that doubt.
 */
export class ViewCompare {
  private lastAt = -Infinity;
  private comparing = false;
  /** A doubt not compared yet (when), and the timer of its compare. */
  private doubtedAt: number | undefined;
  private due: TimerHandle | undefined;

  constructor(
    private readonly s: SyncContext,
    private readonly h: {
      /** The neighbours to ask, in order: the revived peer first, then ring neighbours (no new ARP entry). */
      neighbours(first?: Peer): Peer[];
      /** The views differ (or the answer named no digest: an older release): the exchange, with `other` first. */
      differ(other: Peer): void;
      /** When this agent last asked a summary (an exchange): it reconciled whatever was doubted before. */
      lastSummary(): number;
    },
  ) {}

  doubt(peer?: Peer): void {
    if (!this.s.c.transport) return;
    const now = this.s.c.clock.monotonic();
    this.doubtedAt ??= now;
    const wait = this.lastAt + COMPARE_EVERY_PERIODS * this.s.cfg.livenessPeriodMs - now;
    if (this.comparing || this.due !== undefined) return;
    if (wait > 0) {
      this.due = this.s.c.clock.setTimeout(() => {
        this.due = undefined;
        if (this.s.running() && this.doubtedAt !== undefined && this.h.lastSummary() < this.doubtedAt) this.doubt();
        else this.doubtedAt = undefined;
      }, wait);
      this.due.unref?.();
      return;
    }
    void this.compare(peer);
  }

  private async compare(first?: Peer): Promise<void> {
    [this.comparing, this.lastAt, this.doubtedAt] = [true, this.s.c.clock.monotonic(), undefined];
    try {
      const agreed: string[] = [];
      for (const other of this.h.neighbours(first).slice(0, COMPARE_ASKS)) {
        const theirs = await neighbourDigest(this.s, other);
        if (!this.s.running()) return;
        if (theirs === 'unanswered') continue;
        this.s.c.metrics.viewExchanges.inc({ why: 'digest' });
        if (theirs === undefined || theirs !== viewDigest(this.s.c.directory)) return this.h.differ(other);
        agreed.push(other.name); // the next one too: this one may have missed what this agent did (attack17)
      }
      if (agreed.length > 0) this.s.c.logger.debug({ with: agreed }, 'views agree: no exchange');
    } finally {
      this.comparing = false;
      if (this.s.running()) this.meanwhile();
    }
  }

  /** A doubt that came during a compare: compared when the spacing allows. */
  private meanwhile(): void {
    if (this.doubtedAt !== undefined) this.doubt();
  }
}
