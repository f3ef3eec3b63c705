import type { PeerSummary } from '../transport/transport.js';
import type { TimerHandle } from '../util/clock.js';
import type { LocalHealth } from './local-health.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';
import { ViewCompare } from './view-compare.js';
import { summariesOut } from './summary-asks.js';
import { ViewExchange } from './view-exchange.js';
import { ViewVotes } from './view-votes.js';

/**
 * Hearing no peer at all for this many liveness periods, while this agent's own loop turned, means it was cut
 * off: a settled agent hears its 2 ring subjects' unicast heartbeats every period and the site's multicast
 * several times a second (on a site of 2 or 3 at 30 % loss a gap is sometimes only loss: one small summary,
 * at most once a minute). A stall of its own loop is no cut-off (`heard`).
 */
export const CUT_OFF_PERIODS = 2;

/** At most one view exchange in this many liveness periods (a summary is ~90 B an agent: 90 kB at 1,000). */
export const REJOIN_EVERY_PERIODS = 60;

/**
 * What made an exchange: a gap of hearing nobody, a peer this agent could not reach heard again, or one it could not
 * reach only while its own loop was late (`late-heard`: a digest compare first, the summary only if views differ).
 */
type Why = 'cut-off' | 'unreachable-heard' | 'late-heard';

/**
 * After a partition: the notices sent while this agent was cut off never reached it, nothing repeats them,
 * and its backstop of a stretched peer takes up to 5 of its intervals (minutes at 200 agents). So once it
 * hears the site again (a gap of CUT_OFF_PERIODS, or a peer it could not reach heard again: they were cut off
 * from each other), it asks one ring neighbour for its summary, as memberlist's push/pull exchanges its full
 * state with one member, and checks first-hand (two probes, as the sweep does) the peers it holds alive that
 * the neighbour does not: another host's word never loses an agent. What the neighbour holds alive and this
 * agent does not is learnt as any summary is. On a settled site none of it runs; an exchange is at most one
 * summary answer and 8 checks a minute (two after cut-offs), whatever provokes it. This file says when an exchange
 * is due; view-exchange.ts what one asks and checks.
 */
export class Rejoin {
  private lastHeardAny: number | undefined;
  private lastAsked = -Infinity;
  /** When the last exchange past the minute's bound was made (a second cut-off within the minute). */
  private flapAsked = -Infinity;
  /** An exchange the minute's bound held back, due when the bound allows. */
  private owed: TimerHandle | undefined;
  /** What the held-back exchange is for: a cut-off, and the peers heard again (when) not refuted since. */
  private owedCutOff = false;
  private readonly owedFor = new Map<Peer, number>();
  /** A held-back exchange whose reason is only a late loop's: its digest is compared again when due. */
  private owedLate = false;
  /** A late loop's doubts: a digest compare with a neighbour first, the exchange only if the views differ. */
  private readonly views: ViewCompare;
  /** The site's heartbeats say a view unlike this agent's (view-votes.ts): an exchange under that file's spacing. */
  readonly votes: ViewVotes;
  /** What one exchange asks and checks (view-exchange.ts). */
  private readonly exchanges: ViewExchange;
  /** A gap being weighed against this agent's own stalls, on its next turn. */
  private weighing: TimerHandle | undefined;
  /**
   * Peers a probe of which went unanswered since they last answered or were heard: true if one of those was
   * evidence of a cut-off, false if every one timed out while this agent's own loop was late (idle13).
   */
  private readonly unanswered = new WeakMap<Peer, boolean>();

  constructor(
    private readonly s: SyncContext,
    h: { check(peer: Peer): void; learn(summaries: readonly PeerSummary[], from?: string): void },
    /** This agent's own stalls: a gap no longer than one is no cut-off. */
    private readonly health: Pick<LocalHealth, 'longestStallSince' | 'freeMs'>,
  ) {
    this.exchanges = new ViewExchange(s, h);
    this.views = new ViewCompare(s, {
      neighbours: (first) => [...new Set([...(first ? [first] : []), ...this.exchanges.neighbours()])],
      differ: (other) => this.exchange('late-heard', other, { compared: true }),
      lastSummary: () => Math.max(this.lastAsked, this.flapAsked),
    });
    this.votes = new ViewVotes(s, {
      neighbours: () => this.exchanges.neighbours(),
      ask: (asked) => {
        this.s.c.metrics.viewExchanges.inc({ why: 'vote' });
        void this.exchanges.ask([...new Set(asked)], this.s.c.clock.monotonic());
      },
      check: (peer) => h.check(peer),
    });
  }

  /**
   * A probe of the peer at its endpoint went unanswered. A timeout while this agent's own loop was late
   * (Lifeguard's local health above 0) is no evidence that the two were cut off: the answer may have sat unread
   * (in the bench's loaded 200-agent cold start, ~14 agents a minute later each asked an 18 kB summary so).
   */
  unreachable(peer: Peer, evidence: boolean): void {
    this.unanswered.set(peer, evidence || this.unanswered.get(peer) === true);
  }

  /**
   * A probe of the peer, sent at `sent`, answered. Held alive, it was never cut off from this agent, whatever
   * went unanswered before (the confirming probe answered: a busy peer's loop, not a partition). Sent before it
   * was heard again, the two were not cut off then either: an exchange held back for it has lost its reason
   * (the busy peer's heartbeat came before the answer). Held lost, hearing it is still a revival (heard, next).
   */
  answered(peer: Peer, sent: number): void {
    if (this.s.c.directory.held(peer.name)?.state === 'alive') this.unanswered.delete(peer);
    if (sent <= (this.owedFor.get(peer) ?? -Infinity)) this.owedFor.delete(peer);
  }

  /**
   * A peer was heard (a fresh datagram, or an answer): the first after CUT_OFF_PERIODS of hearing nobody ends
   * a cut-off; a peer this agent could not reach heard again was cut off from it: a partition of part of the
   * site, where no agent heard nobody. Could not reach: a probe of it went unanswered as evidence (unreachable),
   * or this agent held it lost in the same life (`lostInLife`) other than on timeouts of its own late loop.
   */
  heard(peer: Peer, lostInLife: boolean): void {
    const now = this.s.c.clock.monotonic();
    const last = this.lastHeardAny;
    this.lastHeardAny = now;
    const unanswered = this.unanswered.get(peer);
    this.unanswered.delete(peer);
    const revived = unanswered === true || (lostInLife && unanswered === undefined);
    // Unreached only while its own loop was late: a cut or not, its own timeouts cannot say; a neighbour's view can.
    const doubted = !revived && (unanswered === false || lostInLife);
    if (last !== undefined && now - last >= CUT_OFF_PERIODS * this.s.cfg.livenessPeriodMs) this.weigh(last, now);
    else if (revived) this.exchange('unreachable-heard', peer);
    else if (doubted) this.views.doubt(peer);
  }

  /**
   * A gap from `last` to `heard`: a cut-off only if it outlasts this agent's own longest stall in it by
   * CUT_OFF_PERIODS. A loop busy 2.5 s reads what came meanwhile at the end, and its timers fire late by
   * as much: in the bench's 200 agents, 50 to a process, one stall made 50 agents ask an 18 kB summary each
   * (idle12). Weighed on the next turn: a stall in the middle of reading sockets is timed only when the
   * timers due in it fire, after the turn (Node runs due timers before it reads sockets, not during).
   */
  private weigh(last: number, heard: number): void {
    if (this.weighing !== undefined) return;
    this.weighing = this.s.c.clock.setTimeout(() => {
      this.weighing = undefined;
      if (!this.s.running()) return;
      const silent = heard - last - this.health.longestStallSince(last);
      const gap = CUT_OFF_PERIODS * this.s.cfg.livenessPeriodMs;
      // The minute's second exchange (a flapping link) only if its loop also ran free for the gap (ring13): a
      // loop stalling turn after turn leaves gaps its longest stall does not explain, and they are no flap.
      if (silent < gap) return;
      // Its monitors may have lost it meanwhile and told the site, whose notices it missed: a heartbeat at once
      // refutes that everywhere (SWIM's refutation), where the site would hear it only at its next multicast,
      // one interval away (80 s at 200 agents: the whole site held a live agent lost, attack ghost-after-partition).
      this.s.refute();
      // An exchange made since it heard again (a revived peer's, read in the same turn) covers the cut: spent here
      // too, the flap's exchange was gone at the next heal (rejoin-flapping, once the heartbeats' timing moved).
      if (this.lastAsked >= heard) return;
      this.exchange('cut-off', undefined, { cutOff: this.health.freeMs(last) >= gap });
    }, 0);
    this.weighing.unref?.();
  }

  /**
   * At most one exchange in REJOIN_EVERY_PERIODS; and, after a cut-off (weighed: not a stall of this agent's own
   * loop), one more within them: a partition that flaps (cut off, healed, cut off again as a peer crashed, healed)
   * spent the minute on its first heal, and the peer that crashed between the cuts waited for the owed exchange
   * (50 s at 200 agents) or the backstop. So an agent asks at most 2 summaries a minute, however its link flaps
   * (test/attacks/rejoin-flapping.test.ts, ring13).
   */
  private exchange(why: Why, first?: Peer, { owed = false, cutOff = false, compared = false } = {}): void {
    const now = this.s.c.clock.monotonic();
    // With mDNS alone every probe asks for the summary already.
    if (!this.s.c.transport) return;
    // A late loop's reason, due at last (held back): the views are compared again first, they may agree by now.
    if (why === 'late-heard' && !compared) return this.views.doubt(first);
    const minute = REJOIN_EVERY_PERIODS * this.s.cfg.livenessPeriodMs;
    const due = this.lastAsked + minute;
    const flap = now < due && cutOff && now >= this.flapAsked + minute;
    if (now < due && !flap) return this.owe(why, due - now, first);
    if (flap) this.flapAsked = now;
    else this.lastAsked = now;
    this.s.c.metrics.viewExchanges.inc({ why: owed ? 'held-back' : why });
    this.s.c.logger.info({ why, owed }, 'view exchange with a ring neighbour');
    // The revived peer's camp first (one of it by ring position), else the first named, then one whose summary is
    // out (askAround's); never one peer twice.
    const out = summariesOut(this.s).slice(0, 1);
    const asked = new Set([...(first ? [first] : []), ...out, ...this.exchanges.neighbours()]);
    void this.exchanges.ask(
      why === 'unreachable-heard' && first ? this.exchanges.revivedAsked(first) : [...asked],
      now,
    );
  }

  /**
   * Held back by the minute's bound, the exchange runs when the bound allows, not never: a partition that
   * flapped (cut off, healed, cut off again as a peer crashed, healed) spent the bound on its first heal, and
   * at 200 agents the peer was held alive until the backstop, 281 s after the second heal; 50 s now
   * (test/attacks/rejoin-flapping.test.ts). Still at most one exchange a minute, whatever provokes it. Made only
   * if its reason still holds (idle13): a cut-off, or a peer heard again that no probe sent before then answered
   * since (one that did was a busy peer, not a cut-off: in the bench's loaded 200-agent cold start such exchanges,
   * held back a minute, fell in the idle window, ~14 summaries of 18 kB; test/sync-rejoin-reasons.test.ts).
   */
  private owe(why: Why, ms: number, peer?: Peer): void {
    if (why === 'cut-off') this.owedCutOff = true;
    else if (why === 'late-heard') this.owedLate = true;
    else if (peer) this.owedFor.set(peer, this.s.c.clock.monotonic());
    if (this.owed !== undefined) return;
    this.owed = this.s.c.clock.setTimeout(() => {
      this.owed = undefined;
      const late = this.owedLate ? 'late-heard' : undefined;
      const still = this.owedCutOff ? 'cut-off' : this.owedFor.size > 0 ? 'unreachable-heard' : late;
      [this.owedCutOff, this.owedLate] = [false, false];
      this.owedFor.clear();
      if (!this.s.running()) return;
      if (still) this.exchange(still, undefined, { owed: true });
      else this.s.c.logger.info({ why }, 'view exchange held back no longer needed');
    }, ms);
    this.owed.unref?.();
  }
}
