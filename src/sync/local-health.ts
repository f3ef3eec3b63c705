import type { Clock } from '../util/clock.js';

/** The most a probe's deadline is stretched: memberlist's bound (awareness, `AwarenessMaxMultiplier` 8). */
export const MAX_HEALTH_MULTIPLIER = 8;

/** Probe outcomes the failure share is taken over. */
const OUTCOMES = 16;

/** Fewer outcomes than this are judged as if the rest had been answered: two timeouts are not 100 %. */
const MIN_OUTCOMES = 8;

/** Below this share of unanswered probes the failures are the peers' (a vanished host or two), not ours. */
const FAILURE_SHARE_FLOOR = 0.25;

/**
 * Above this share of unanswered checks of peers it held alive, this agent doubts itself (its loop or its
 * link) more than them, and sends no lost notice on a timeout: in the bench's 200-agent cold start such an
 * agent's notices, each received by the whole site, named live peers and fed the load behind the timeouts.
 * A vanished host probed twice is 2 of at least MIN_OUTCOMES; two vanished subjects of one monitor, 4 of 8.
 */
const SELF_DOUBT_SHARE = 0.5;

/**
 * How long a check's outcome counts for that doubt, in liveness periods: on an idle site checks are rare, and
 * failures left from a cold-start storm would otherwise withhold a monitor's true notice of a vanished host
 * hours later (the others then learn of it from the backstop only, after minutes at 200 agents).
 */
const CHECK_MEMORY_PERIODS = 30;

/**
 * Failures count only beside some lag (a quarter period): without Lifeguard's nacks, a prober whose timers
 * fire on time has no sign that it is the problem, and a partition's timeouts are the network's.
 */
const FAILURES_NEED_LAG = 0.25;

/**
 * Turns of the event loop one probe needs: the connection, the request read by the peer, its answer read
 * here. Turns of a loop as late as its worst lateness make a deadline shorter than this many of them
 * unreachable whatever the peer does (50 agents in one busy process: 2.5 s turns).
 */
const TURNS_PER_PROBE = 3;

/** How long a lateness of the event loop counts, in liveness periods. */
const LAG_MEMORY_PERIODS = 10;

/**
 * This agent's own health as a prober (Lifeguard's local health awareness, Dadgar et al. 2017): a
 * score from 0 to MAX_HEALTH_MULTIPLIER - 1 that stretches its probe deadlines by (score + 1). Lifeguard
 * raises the score on its own missed acks and nacks; Herald's probes are TCP and carry no nack, so the
 * score comes from what the prober sees of itself: how late its own timers fire (a busy event loop reads
 * an answer after the deadline that fired first) and the share of its recent probes that went unanswered.
 * All from the injected clock: several agents in one process each judge themselves.
 */
export class LocalHealth {
  /** Latenesses of this agent's timers, newest last, kept LAG_MEMORY_PERIODS. */
  private readonly lags: { at: number; ms: number }[] = [];
  /** Recent probes, newest last: true if unanswered (a timeout), false if answered or refused. */
  private readonly outcomes: boolean[] = [];
  /** The same, of peers held alive only (a lost peer probed again and again is not this agent's failure), with when. */
  private readonly checks: { at: number; unanswered: boolean }[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
  ) {}

  /** A timer of this agent meant to fire at `due` (monotonic) fires now: how late its event loop is. */
  timerFired(due: number): void {
    const now = this.clock.monotonic();
    this.lags.push({ at: now, ms: Math.max(0, now - due) });
    while (this.lags.length > 0 && this.lags[0].at < now - LAG_MEMORY_PERIODS * this.periodMs) this.lags.shift();
  }

  /** A probe's outcome: answered (or refused: the network and this agent both worked) or unanswered. */
  probed(answered: boolean, heldAlive = false): void {
    this.outcomes.push(!answered);
    if (this.outcomes.length > OUTCOMES) this.outcomes.shift();
    if (!heldAlive) return;
    this.checks.push({ at: this.clock.monotonic(), unanswered: !answered });
    if (this.checks.length > OUTCOMES) this.checks.shift();
  }

  /**
   * Whether most of this agent's recent checks (CHECK_MEMORY_PERIODS) of peers it held alive went unanswered:
   * then its own loop or link is the likelier cause, and its word that a peer is lost is kept to itself.
   * Lifeguard lowers a member's own confidence on missed acks the same way; without nacks the share is all
   * Herald sees. A refusal counts as an answer: it is evidence from the peer's host, not from this loop.
   */
  doubtsItself(): boolean {
    const recent = this.checks.filter((c) => c.at >= this.clock.monotonic() - CHECK_MEMORY_PERIODS * this.periodMs);
    const failed = recent.filter((c) => c.unanswered).length;
    return failed / Math.max(recent.length, MIN_OUTCOMES) > SELF_DOUBT_SHARE;
  }

  /**
   * 0 when healthy. From lag: one step per half period of the worst lateness remembered (a timer half a
   * period late doubles the deadlines), so a stretched deadline outlasts the lag that would have fired it
   * before the answer was read. From failures, while the loop lags at all: none below a quarter unanswered,
   * the most at all. `worst`: the lateness scored, the worst remembered unless given.
   */
  score(worst = this.worstLag()): number {
    // Also long enough for a one-period probe's turns of the loop: turns of a third of a period stretched
    // nothing, and each timeout was then excused (timedOut), so a vanished peer was never lost.
    const fromTurns = Math.ceil((TURNS_PER_PROBE * worst) / this.periodMs) - 1;
    const fromLag = Math.min(MAX_HEALTH_MULTIPLIER - 1, Math.max(Math.floor(worst / (this.periodMs / 2)), fromTurns));
    if (worst < FAILURES_NEED_LAG * this.periodMs) return fromLag;
    const failed = this.outcomes.filter(Boolean).length;
    const share = failed / Math.max(this.outcomes.length, MIN_OUTCOMES);
    const fromFailures = Math.ceil(
      (Math.max(0, share - FAILURE_SHARE_FLOOR) / (1 - FAILURE_SHARE_FLOOR)) * (MAX_HEALTH_MULTIPLIER - 1),
    );
    return Math.min(MAX_HEALTH_MULTIPLIER - 1, Math.max(fromLag, fromFailures));
  }

  /** The worst lateness of this agent's timers remembered. */
  private worstLag(since = this.clock.monotonic() - LAG_MEMORY_PERIODS * this.periodMs): number {
    let worst = 0;
    for (const l of this.lags) if (l.at >= since) worst = Math.max(worst, l.ms);
    return worst;
  }

  /**
   * The longest this agent's loop went without running its timers in a turn that ended after `since`: a
   * silence no longer than that may be this agent's own (datagrams wait unread while the loop is busy).
   */
  longestStallSince(since: number): number {
    return this.worstLag(since);
  }

  /** How long since `since` this agent's loop ran none of its timers: the union of their latenesses. */
  private busyMs(since: number): number {
    const spans = this.lags.filter((l) => l.at > since).map((l) => [Math.max(since, l.at - l.ms), l.at]);
    spans.sort((a, b) => a[0] - b[0]);
    let busy = 0;
    let covered = since;
    for (const [from, to] of spans) {
      if (to <= covered) continue;
      busy += to - Math.max(covered, from);
      covered = to;
    }
    return busy;
  }

  /**
   * How long since `since` (at most LAG_MEMORY_PERIODS back) this agent's loop ran its timers on time: a silence
   * it heard while its loop was free was the network's (a cut-off), not a stall of its own (Rejoin).
   */
  freeMs(since: number): number {
    const from = Math.max(since, this.clock.monotonic() - LAG_MEMORY_PERIODS * this.periodMs);
    return Math.max(0, this.clock.monotonic() - from - this.busyMs(from));
  }

  /** Its own timeouts are evidence: score 0 and no self-doubt (its early notice, an indirect probe's helper). */
  trusted(): boolean {
    return this.score() === 0 && !this.doubtsItself();
  }

  /**
   * Lifeguard's scaled timeout: `ms` × (score + 1). With `since`, for a probe that confirms one sent then and
   * left unanswered (not `lagged`): scored on the lateness of this agent's timers since then only. That probe's
   * whole deadline is evidence of the loop as it is now; a stall that ended before it (a host frozen 41 s, then
   * resumed) held the score at 7 for 10 periods, and the check of a peer gone from its address took 8 + 16 s
   * (swarm seed 23000296 with host faults: a ghost 15 s after the resume). A loop still late during the first
   * probe keeps the whole stretch (Lifeguard too lowers its multiplier on each answered round).
   */
  stretch(ms: number, since?: number): number {
    if (since === undefined) return ms * (this.score() + 1);
    let worst = 0;
    for (const l of this.lags) if (l.at > since) worst = Math.max(worst, l.ms);
    return ms * (this.score(worst) + 1);
  }

  /**
   * A catch-up's deadline: `ms` plus the few late turns it may need (an answer read only after them), at most
   * Lifeguard's stretch. The stretch alone scales a 2 s deadline to 16 s after a 2.8 s stall: a request sent
   * into a one-way cut that healed a second later was waited for past the site's quiet 15 s, and the origin
   * stayed unheld (swarm seed 15000081). Its probes keep the stretch: they are short, and fire notices.
   */
  turnsDeadline(ms: number): number {
    // Whole milliseconds: the HTTP client's AbortSignal.timeout throws on a fraction (peer-client-deadline test).
    return Math.min(this.stretch(ms), Math.ceil(ms + TURNS_PER_PROBE * this.worstLag()));
  }

  /**
   * A probe's deadline of `deadlineMs`, due at `due`, ran out now. Whether this agent's own lag may explain
   * the timeout: while the probe was under way its loop ran none of its timers for more than half the
   * time, in turns so long that the few a probe needs (TURNS_PER_PROBE) outlast its deadline, so the answer
   * may have sat unread while the deadline's timer ran first (Node runs due timers before it reads sockets).
   * Judged on that probe's own time only: a deadline fired over a period late, or the worst turn of the last
   * ten periods outlasting a third of it, excused every timeout while a 3 s stall came every 9 s (a vanished
   * peer was never lost), though the loop had been free most of the probe.
   */
  timedOut(due: number, deadlineMs: number): boolean {
    this.timerFired(due);
    const since = due - deadlineMs;
    return this.busyMs(since) > deadlineMs / 2 && TURNS_PER_PROBE * this.worstLag(since) > deadlineMs;
  }
}
