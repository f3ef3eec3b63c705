import { DeadlineHeap } from '../util/deadline-heap.js';
import type { ChangesSeen } from '../util/recent-changes.js';

/**
 * How often the sweep visits every peer whatever their deadlines say: a safety net for a rule that moves a
 * deadline earlier without telling the schedule (none is known). Every 30 s costs 1,000 visits at 1,000
 * agents, where walking them all at each tick cost 2,000 a second.
 */
export const FULL_WALK_MS = 30_000;

/**
 * The peers judged by this agent's own interval are looked at again when it fell under this share of the
 * longest it was since they last were: their deadlines moved earlier (a site that lost half its members).
 * Each heartbeat heard moves the mean size, and after a cold start it falls by half or so as the hinted
 * heartbeats stop: at 0.9, idle agents of 160 visited twice the peers a tick (sync-sweep.test.ts); at 0.5,
 * one walk of them more in 30 s (417 visits, 277 with no mark). A smaller
 * shrink leaves a deadline late by that share of its silence, or until the FULL_WALK_MS walk (a backstop's:
 * the monitors judge by the period); one that grew moves them later, which the heap sees for itself.
 */
export const SITE_SHRINK_MARK = 0.5;

/** What the schedule watches besides the deadlines it was given. */
export interface ScheduleSources {
  /** Peers added, removed or verified (the peer table's log). */
  readonly peers: ChangesSeen;
  /** Origins that appeared, went or changed state (the directory's log). */
  readonly states: ChangesSeen;
  /** Every peer's name: for a full walk. */
  names(): Iterable<string>;
  /** When the peer was last heard (undefined: it left the table). */
  heardAt(name: string): number | undefined;
  /** Its multicast interval as its silence is judged now (ring.ts intervalOf). */
  intervalOf(name: string): number;
}

/**
 * A peer's deadline: `silence` plus `intervals` of its interval after it was last heard, and not before
 * `rest`. Kept in parts because each datagram moves the first (later, and by a new interval that jitters
 * with the site's mean) many times between deadlines: the heap entry that comes up early is put back at
 * the new time without looking at the peer's rule again.
 */
export interface Deadline {
  rest: number;
  /** Both undefined: the deadline does not move with the peer's datagrams. */
  silence?: number;
  intervals?: number;
}

/** A deadline, and the due time of the peer's one live entry in the heap (Infinity: none). */
interface Scheduled extends Deadline {
  queued: number;
}

/**
 * Which peers the liveness sweep visits at a tick: those whose deadline has passed, those marked since
 * the last tick (an event that may have moved a deadline earlier: a shorter interval, a reset back-off, a
 * ring move), those the peer table's or the directory's change logs name, and all of them every
 * FULL_WALK_MS or after a burst the logs no longer remember. A tick thus costs O(due + log N), not O(N).
 *
 * A deadline that moves later needs no event: the entry comes up at the old time, is found not due, and
 * goes back at the new one. One that moves earlier is pushed again; its older heap entry is skipped when
 * it comes up (lazy invalidation). Each peer keeps one live entry, so the heap stays about N entries.
 */
export class SweepSchedule {
  private readonly heap = new DeadlineHeap<string>();
  private readonly deadlines = new Map<string, Scheduled>();
  private readonly marked = new Set<string>();
  private peersEpoch: number;
  private statesEpoch: number;
  private walkedAt = -Infinity;
  /** This agent's interval when the peers judged by it were last marked, or the longest since (undefined:
   * unstretched). */
  private siteMarked: number | undefined;

  constructor(
    private readonly sources: ScheduleSources,
    private readonly fullWalkMs = FULL_WALK_MS,
  ) {
    this.peersEpoch = sources.peers.epoch;
    this.statesEpoch = sources.states.epoch;
  }

  /** Something may have moved the peer's deadline earlier: it is visited at the next tick. */
  mark(name: string): void {
    this.marked.add(name);
  }

  /** This agent's own interval now (undefined: unstretched), and the peers judged by it: marked if it shrank. */
  siteInterval(site: number | undefined, judgedBy: Iterable<string>): void {
    const marked = this.siteMarked;
    const shrank = marked !== undefined && (site === undefined || site < marked * SITE_SHRINK_MARK);
    if (shrank) for (const name of judgedBy) this.mark(name);
    this.siteMarked = site === undefined || shrank || marked === undefined ? site : Math.max(marked, site);
  }

  /** The peers to visit at `now`; each visit must end in `set`. */
  take(now: number): Set<string> {
    const out = new Set<string>(this.marked);
    this.marked.clear();
    const changed = [this.sources.peers.since(this.peersEpoch), this.sources.states.since(this.statesEpoch)];
    this.peersEpoch = this.sources.peers.epoch;
    this.statesEpoch = this.sources.states.epoch;
    if (changed[0] === undefined || changed[1] === undefined || now - this.walkedAt >= this.fullWalkMs) {
      this.walkedAt = now;
      for (const name of this.sources.names()) out.add(name);
    } else for (const name of [...changed[0], ...changed[1]]) out.add(name);
    for (let top = this.heap.popDue(now); top !== undefined; top = this.heap.popDue(now)) {
      const { at, key } = top;
      const d = this.deadlines.get(key);
      if (d === undefined || d.queued !== at) continue; // superseded by an earlier entry, or the peer is gone
      d.queued = Infinity;
      const due = this.dueOf(key, d);
      if (due <= now) out.add(key);
      else this.queue(key, d, due);
    }
    return out;
  }

  /**
   * The peer's next deadline after a visit; one not after `now` is visited at the next tick, undefined
   * forgets the peer (it left the table).
   */
  set(name: string, deadline: Deadline | undefined): void {
    if (deadline === undefined) {
      this.deadlines.delete(name);
      return;
    }
    const d = this.deadlines.get(name) ?? { rest: 0, queued: Infinity };
    d.rest = deadline.rest;
    d.silence = deadline.silence;
    d.intervals = deadline.intervals;
    const due = this.dueOf(name, d);
    if (due < d.queued) this.queue(name, d, due);
  }

  /** The inputs of the peer's deadline moved (a shorter interval): its entry moves up if it is now due sooner. */
  refresh(name: string): void {
    const d = this.deadlines.get(name);
    if (d === undefined) return;
    const due = this.dueOf(name, d);
    if (due < d.queued) this.queue(name, d, due);
  }

  private dueOf(name: string, d: Scheduled): number {
    if (d.silence === undefined && d.intervals === undefined) return d.rest;
    const silence = (d.silence ?? 0) + (d.intervals === undefined ? 0 : d.intervals * this.sources.intervalOf(name));
    return Math.max((this.sources.heardAt(name) ?? -Infinity) + silence, d.rest);
  }

  private queue(name: string, d: Scheduled, due: number): void {
    d.queued = due;
    this.deadlines.set(name, d);
    this.heap.push(due, name);
  }
}
