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

/**
 * The most datagrams a round sends each monitor: while more than MAX_HINTS carries are owed (a burst), a round
 * carries up to ROUND_DATAGRAMS × 8 of them, 8 a datagram, so each change of a burst of up to 24 rides every
 * round and has its RING_CARRIES in 6 rounds, not in ceil(K / 8) × 6. An idle site owes none and a round is
 * one datagram, byte for byte as before; the burst's hints are the same bytes either way, sent sooner, plus
 * a header per extra datagram (docs/protocol.md, "Scale": the pace of a burst's carries).
 */
export const ROUND_DATAGRAMS = 3;

/**
 * A change's first rounds go both ways on the ring: to the monitors and to the subjects (announcer.ts). With the
 * site's multicast at 150 B/s (~2.6 heartbeats a second, heartbeat-interval.ts) a host that missed an announcement
 * hears of it mostly from the ring, and from its 2 subjects alone it heard nothing within 1.4 s about one time
 * in 5 at 30 % loss (each subject missed it too, 0.3, or its one or two rounds were lost): with its 2 monitors
 * as well, about one in 25. memberlist piggy-backs its broadcasts on pings and on their acks alike, both ways
 * between a prober and the probed. Only while a change is this fresh, so an idle round is as before.
 */
export const BOTH_WAYS_CARRIES = 2;

interface Entry {
  incarnation: number;
  version: number;
  at: number;
  /** Unicast rounds to the monitors that carried it; RING_CARRIES at once for a hint the ring does not carry. */
  carried: number;
  /**
   * When it last rode a round (this table's count of rounds; -1: never). A new version of an origin keeps its
   * place: the least recently carried ride first, so no origin, however often it changes,
   * keeps another's change out of the 8 slots (memberlist's TransmitLimitedQueue orders by transmits alone and
   * a new version starts at 0 again: ten origins changing twice a round starved every other change).
   */
  lastRound: number;
}

/** `late`: past the 8-period end of its burst, and carried at least once (see `forRound`). */
type Picked = { entry: Entry; hint: Hint; late: boolean };

/** Multicast lists newest first: on a small site every agent lists each period, so the newest change reaches a
 * host that missed it within a period (taking turns there: 50 agents at 30 % loss, p99 2.81 s, not 137 ms). */
const newestFirst = (a: Picked, b: Picked) => b.entry.at - a.entry.at;
/** Rounds least recently carried first, ties oldest change first: no noisy origin keeps another's out. Late
 * changes ride only the slots the others leave. */
const leastRecentlyCarried = (a: Picked, b: Picked) =>
  Number(a.late) - Number(b.late) || a.entry.lastRound - b.entry.lastRound || a.entry.at - b.entry.at;

/**
 * The hints this agent repeats on its heartbeats and announcements: what it applied recently, so that a
 * peer that missed an origin's announcement learns of it from anyone, not only from the origin.
 */
export class Hints {
  private readonly byName = new Map<string, Entry>();
  /** Unicast rounds made so far: the clock of each entry's turn. */
  private rounds = 0;
  /** When the last round was made: a table whose agent makes no rounds (a small site) drops what it cannot carry. */
  private lastRoundAt = -Infinity;

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
    const old = this.byName.get(name);
    this.byName.set(name, {
      incarnation,
      version,
      at: this.clock.monotonic(),
      carried: change ? 0 : RING_CARRIES,
      lastRound: old?.lastRound ?? -1,
    });
  }

  /** The version held as a recent change of `name` and the rounds that carried it (a diagnosis: sync-view.ts). */
  entryOf(name: string): { version: number; carried: number } | undefined {
    const e = this.byName.get(name);
    return e && { version: e.version, carried: e.carried };
  }

  forget(name: string): void {
    this.byName.delete(name);
  }

  /** The hints to multicast now, newest first: those within the time horizon. */
  list(): Hint[] {
    const recent = this.pick((e, now) => e.at >= now - this.horizonMs, newestFirst);
    return recent.slice(0, MAX_HINTS).map((x) => x.hint);
  }

  /**
   * The hints of one unicast round to the monitors, least recently carried first: changes carried by fewer
   * than RING_CARRIES rounds yet, however old. Each one picked counts this round. A change past the 8-period
   * end of its burst that rode at least once rides only slots that changes within it leave free (and the last
   * slot, when they would fill the whole round, goes to the least recently carried of the late ones): a late repair
   * (a subject that missed the change too and fetched it seconds later) is what its monitors lack. Taking turns
   * with a burst they mostly hold already, it waited one round in 3 (simulator, 100 agents, 10 bursts of 20 at
   * 30 % loss, seeds 21-23: 39-69 of 19,800 deliveries over 5 s; 7-12 with late changes last; 14-25 before).
   */
  forRound(): Hint[] {
    const owed = this.pick((e) => e.carried < RING_CARRIES, leastRecentlyCarried);
    const room = ROUND_DATAGRAMS * MAX_HINTS;
    const picked = owed.slice(0, room);
    // Late changes keep the last slot when fresher ones would fill the round: busy origins, each version of theirs
    // fresh, held every slot for good, and a change past its 8 periods that had ridden 3 rounds never rode again.
    const late = owed.find((x) => x.late);
    if (picked.length === room && late && !picked.includes(late)) picked[room - 1] = late;
    for (const { entry: e } of picked) {
      e.carried += 1;
      e.lastRound = this.rounds;
    }
    this.rounds += 1;
    this.lastRoundAt = this.clock.monotonic();
    return picked.map((x) => x.hint);
  }

  /** Whether the next round carries a change in its first BOTH_WAYS_CARRIES rounds: it goes both ways (see there). */
  fresh(): boolean {
    const now = this.clock.monotonic();
    for (const e of this.byName.values()) if (e.carried < BOTH_WAYS_CARRIES && !this.expired(e, now)) return true;
    return false;
  }

  /** Whether any change is owed a ring carry: a round after this agent's own multicast is skipped only if none is. */
  owes(): boolean {
    const now = this.clock.monotonic();
    for (const e of this.byName.values()) if (e.carried < RING_CARRIES && !this.expired(e, now)) return true;
    return false;
  }

  /** The kept entries with their hints, in `order` (the caller takes what fits). */
  private pick(keep: (e: Entry, now: number) => boolean, order: (a: Picked, b: Picked) => number): Picked[] {
    const now = this.clock.monotonic();
    const out: Picked[] = [];
    for (const [name, e] of this.byName) {
      if (this.expired(e, now)) {
        this.byName.delete(name);
        continue;
      }
      if (!keep(e, now)) continue;
      const hint = { nameHash: fnv1a32(name), incarnationTag: incarnationTag(e.incarnation), version: e.version };
      // `carried`, not `lastRound`: a new version keeps its origin's round count, and one never carried is not late.
      out.push({ entry: e, hint, late: e.carried > 0 && e.at < now - this.ringEndMs() });
    }
    return out.sort(order);
  }

  /**
   * Past the time horizon, a change that rode its RING_CARRIES rounds is done. One that did not is kept while
   * rounds are being made, however long its turns take: with K changes owed it rides one round in
   * ceil(K / 24) (ROUND_DATAGRAMS), so a burst of 20 takes 6 rounds for its 6 carries (~18 with 8 a round).
   * (Dropped at the 8-period end of a burst once it had ridden one round, as before, each of a burst of 20 rode
   * 2-4 rounds, and a host whose 4-8 datagrams from its 2 subjects were all lost stayed behind for the origin's
   * own heartbeat, ~33 s away at 200 agents.)
   * A table whose agent made no round for that long (a small site, every agent multicasting each period, or
   * one that stopped making rounds) drops it all the same: nothing would carry it.
   */
  private expired(e: Entry, now: number): boolean {
    if (e.at >= now - this.horizonMs) return false;
    if (e.carried >= RING_CARRIES) return true;
    const ringEnd = this.ringEndMs();
    return e.at < now - ringEnd && this.lastRoundAt < now - ringEnd;
  }

  /** The end of a burst's rounds: 8 periods, time for 6 carries and 2 rounds skipped. */
  private ringEndMs(): number {
    return (this.horizonMs / 2) * (RING_CARRIES + 2);
  }
}
