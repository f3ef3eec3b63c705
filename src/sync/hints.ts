import { MAX_HINTS } from '../protocol/codec.js';
import { fnv1a32, incarnationTag, type Hint } from '../protocol/messages.js';
import type { Clock } from '../util/clock.js';

/** A hint with this version says the origin said goodbye (real versions start at 1). */
export const LEFT = 0;

/**
 * Unicast rounds to the monitors that carry each hint, however old it is: its horizon on the ring is counted
 * in datagrams, not time. A host whose two subjects hold a change hears it in 2 × 6 datagrams, all lost at
 * 30 % loss one time in 2 million; with the time horizon alone (2 periods: 2 rounds each) it was one in 120,
 * and on a site of 1,000 agents, whose few multicast heartbeats carry few hints, such a host waited minutes
 * for the origin's own next heartbeat (memberlist's RetransmitMult × log N, SWIM's piggy-backing).
 */
export const RING_CARRIES = 6;

interface Entry {
  incarnation: number;
  version: number;
  at: number;
  /** Unicast rounds to the monitors that carried it; RING_CARRIES at once for a hint the ring does not carry. */
  carried: number;
}

/**
 * The hints this agent repeats on its heartbeats and announcements: what it applied recently, so that a
 * peer that missed an origin's announcement learns of it from anyone, not only from the origin.
 */
export class Hints {
  private readonly byName = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    /** How long a change is repeated on multicast: two heartbeat periods, so that one lost heartbeat is covered. */
    private readonly horizonMs: number,
  ) {}

  /**
   * `change`: the agent held an earlier version of that life (or the origin left), so a peer may hold it too
   * and need the hint; only those ride the ring. An origin's first version (a cold start fetches every one,
   * a newcomer's whole set) names what a peer that lacks it learns anyway, and filled every unicast round
   * with 8 hints for seconds after a cold start (86 B/s sent per agent instead of 45 at 50 agents).
   */
  note(name: string, incarnation: number, version: number, change: boolean): void {
    this.byName.set(name, { incarnation, version, at: this.clock.monotonic(), carried: change ? 0 : RING_CARRIES });
  }

  forget(name: string): void {
    this.byName.delete(name);
  }

  /** The hints to multicast now, newest first: those within the time horizon. */
  list(): Hint[] {
    return this.pick((e, now) => e.at >= now - this.horizonMs);
  }

  /**
   * The hints of one unicast round to the monitors, newest first: changes carried by fewer than RING_CARRIES
   * rounds yet, however old. Each one picked counts this round.
   */
  forRound(): Hint[] {
    const picked: Entry[] = [];
    const hints = this.pick((e) => e.carried < RING_CARRIES, picked);
    for (const e of picked) e.carried += 1;
    return hints;
  }

  private pick(keep: (e: Entry, now: number) => boolean, picked: Entry[] = []): Hint[] {
    const now = this.clock.monotonic();
    const out: { entry: Entry; hint: Hint }[] = [];
    for (const [name, e] of this.byName) {
      // A site without unicast rounds (small, every agent multicasts each period) never carries one on the ring;
      // and after a burst (a cold start applies every origin) only the newest 8 ride a round: both end here.
      const ringEnd = (this.horizonMs / 2) * (RING_CARRIES + 2);
      if (e.at < now - this.horizonMs && (e.carried >= RING_CARRIES || e.at < now - ringEnd)) {
        this.byName.delete(name);
        continue;
      }
      if (!keep(e, now)) continue;
      const hint = { nameHash: fnv1a32(name), incarnationTag: incarnationTag(e.incarnation), version: e.version };
      out.push({ entry: e, hint });
    }
    const newest = out.sort((a, b) => b.entry.at - a.entry.at).slice(0, MAX_HINTS);
    picked.push(...newest.map((x) => x.entry));
    return newest.map((x) => x.hint);
  }
}
