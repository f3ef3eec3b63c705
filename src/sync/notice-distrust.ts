import type { Clock } from '../util/clock.js';

/** What a reporter's first false notice costs it, in liveness periods: its notices go unheard that long. */
export const DISTRUST_FIRST_PERIODS = 4;
/** Each further false notice within the window multiplies the cost by this much... */
export const DISTRUST_GROWTH = 4;
/** ...up to this many periods (a minute at the default period). */
export const DISTRUST_MAX_PERIODS = 60;
/** A reporter's false notices are remembered this many periods after its last one: then it starts afresh. */
export const DISTRUST_WINDOW_PERIODS = 120;

interface Strikes {
  /** Its notices are not listened to before this (monotonic ms). */
  until: number;
  /** False notices within the window, less one for each true notice since. */
  count: number;
  last: number;
}

/**
 * Open sites: how long a reporter of false lost notices is not listened to. Anyone may run a member there,
 * and one repeating false notices each second drew N probes a second to each agent it watches (1,000 at
 * 1,000 agents) for one multicast, so a false notice costs its reporter a while unheard. A flat minute also
 * silenced an honest monitor whose own probe timed out once under load, and a true notice of its a few
 * seconds later went unheard. So the cost grows with repeats: 4 periods for a first, 16 for a second within
 * two minutes, then 60; a true notice takes one strike back. A flood repeating at once pays 4, 16, 60, 60...
 */
export class NoticeDistrust {
  private readonly reporters = new Map<string, Strikes>();

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    /** The most reporters remembered; the oldest is forgotten first. */
    private readonly bound: number,
  ) {}

  /** Whether the reporter's notices are not listened to now. */
  distrusted(reporter: string): boolean {
    const s = this.current(reporter, this.clock.monotonic());
    return s !== undefined && this.clock.monotonic() < s.until;
  }

  /**
   * A notice of the reporter named an agent that then answered. The probes a notice (or a burst of them)
   * drew end about together: one strike for them all, since it is distrusted from the first.
   */
  falseNotice(reporter: string): void {
    const now = this.clock.monotonic();
    const s = this.current(reporter, now);
    if (s && now < s.until) return;
    const count = (s?.count ?? 0) + 1;
    const periods = Math.min(DISTRUST_MAX_PERIODS, DISTRUST_FIRST_PERIODS * DISTRUST_GROWTH ** (count - 1));
    const oldest = this.reporters.keys().next();
    if (this.reporters.size >= this.bound && !this.reporters.has(reporter) && !oldest.done)
      this.reporters.delete(oldest.value);
    this.reporters.delete(reporter); // re-inserted: the map's order is the age of the last strike
    this.reporters.set(reporter, { until: now + periods * this.periodMs, count, last: now });
  }

  /** A notice of the reporter was true (the probe it asked for found the agent gone): one strike less. */
  trueNotice(reporter: string): void {
    const s = this.current(reporter, this.clock.monotonic());
    if (s) s.count = Math.max(0, s.count - 1);
  }

  /** Its strikes, unless the window has passed since the last one (then forgotten). */
  private current(reporter: string, now: number): Strikes | undefined {
    const s = this.reporters.get(reporter);
    if (s && now - s.last >= DISTRUST_WINDOW_PERIODS * this.periodMs) this.reporters.delete(reporter);
    else return s;
    return undefined;
  }
}
