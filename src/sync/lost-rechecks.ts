import { fnv1a32 } from '../protocol/messages.js';
import type { Peer } from './peer-table.js';

/**
 * Periods before each probe that checks again a peer this agent lost on timeouts alone: the first after the
 * loss, the next after the first. A timeout is the only evidence of such a loss, and in a loaded cold start it
 * is most often the peer's busy loop or this agent's (issue 18, lost16: two viewers held a live agent lost
 * from ~55 s to 147 s of the 200-agent start on real sockets). A monitor's loss sends a notice that the subject
 * refutes; any other loss (a notice's or a relay's confirming probe, a backstop's check, a monitor that doubts
 * itself and tells no one) was asked again by no one until the subject's next multicast heartbeat, ~80 s apart
 * at 200 agents. These two are the first recheckers' (RECHECKERS); every other viewer asks once, later.
 */
export const RECHECK_PERIODS: readonly number[] = [2, 6];

/**
 * How many viewers of a loss recheck it on RECHECK_PERIODS, chosen site-wide by a hash of the viewer's and the
 * peer's names (rendezvous: the RECHECKERS highest among the agents this one holds alive and itself). Every viewer
 * took a vanished host's loss in the same second (its notice's confirming probes) and rechecked it together: 59
 * requests in one second to an absent address at 60 agents, 199 at 200 (attacks/recheck-amplification), each a
 * neighbour lookup (an ARP broadcast on a real LAN), twice. A recheck that finds the subject alive tells it so
 * (Asker.lost): it refutes with a multicast heartbeat, which revives it at every viewer that holds it lost.
 */
export const RECHECKERS = 3;

/**
 * About this many of the other viewers of a loss ask it once, early (on RECHECK_PERIODS[0]) instead of late, each
 * by a coin of its own (earlyAsker): the first recheckers are picked by names, and on an open site a member running
 * RECHECKERS agents can grind names that outrank every other (attacks/recheck-ground-names: 617 tries of fnv1a32 at
 * 200 agents; any salt all viewers share, it knows too). Its agents then do not recheck, and a live agent lost on
 * timeouts waited the late rechecks. The coin takes nothing the forger chooses but the site's size: with 6 of 200
 * honest viewers expected, no honest one asks early in e^-6 of losses (0.25 %). No request is added: each of these
 * asks once, as it would have later; a vanished host draws about RECHECKERS + EARLY_ASKERS in that period.
 */
export const EARLY_ASKERS = 6;

/**
 * Every other viewer asks once, in case no first rechecker lost it (a lone viewer's timeouts on a busy peer) or the
 * refutation was lost on the way: from this many periods after the loss, spread by a hash of the pair over
 * `members / RECHECKS_PER_PERIOD` periods (at least RECHECK_SPREAD_MIN, at most RECHECK_SPREAD_MAX): a vanished
 * host draws about RECHECKS_PER_PERIOD of these a period site-wide up to 384 agents, not one from every viewer.
 */
export const LATE_RECHECK_PERIODS = 4;
export const RECHECKS_PER_PERIOD = 8;
export const RECHECK_SPREAD_MIN = 8;
export const RECHECK_SPREAD_MAX = 48;

/**
 * How long a recheck may wait for this agent's own loop to be on time, in periods after the loss (its answer
 * would be read after its deadline, as the timeouts were): past this, the peer's next heartbeat is left to say.
 */
export const RECHECK_WAIT_PERIODS = 60;

/** The most losses waiting to be checked again, oldest out: each is one more peer this agent talks to (ARP). */
export const RECHECKED_LOSSES = 16;

/**
 * A peer lost again within this many periods of an earlier loss of the same life (it answered or was heard in
 * between: a busy peer, not a vanished one) is asked again on RECHECK_PERIODS[0] by this viewer too, and once more on
 * its late recheck. s18: at 200 agents with the 3 first recheckers cut off from a busy, deaf subject, viewers whose
 * late probes timed out after its refutation had revived them (4.2 s after it) waited their late recheck, up to
 * 29 periods: the last held it lost 8.75 s after the load. A vanished host is revived by no one, so its loss is a
 * first one everywhere and keeps the spread; only one that vanishes within these periods of its return is not.
 */
export const RELOST_PERIODS = 8;

interface Pending {
  incarnation: number;
  due: number;
  tries: number;
  until: number;
  /** A loss again (RELOST_PERIODS): its late recheck, after the early one. */
  late?: number;
}

/**
 * Whether `self` is one of the RECHECKERS first recheckers of `subject` among `viewers` (the agents it holds
 * alive; itself and the subject are skipped there): the same few for every viewer whose view agrees.
 */
export function firstRechecker(self: string, subject: string, viewers: Iterable<string>): boolean {
  const score = (name: string): number => fnv1a32(`${name}/${subject}`);
  const own = score(self);
  let above = 0;
  for (const name of viewers) {
    if (name === self || name === subject) continue;
    const other = score(name);
    if ((other > own || (other === own && name < self)) && ++above >= RECHECKERS) return false;
  }
  return true;
}

/**
 * Whether a viewer that is no first rechecker asks early (EARLY_ASKERS): a coin of its name, the subject's and the
 * moment of its loss on its own clock, down to the millisecond (the viewers of one loss lose it at moments of their
 * own, and a loss again is another draw). A hash and not the agent's random: none of its other draws moves.
 */
export function earlyAsker(self: string, subject: string, lostAt: number, members: number): boolean {
  return fnv1a32(`${self}/${subject}/${Math.floor(lostAt)}`) / 2 ** 32 < EARLY_ASKERS / members;
}

/** When a viewer that is no first rechecker asks, in periods after the loss (see LATE_RECHECK_PERIODS). */
export function lateRecheckPeriods(self: string, subject: string, members: number): number {
  const spread = Math.min(RECHECK_SPREAD_MAX, Math.max(RECHECK_SPREAD_MIN, members / RECHECKS_PER_PERIOD));
  return LATE_RECHECK_PERIODS + ((fnv1a32(`${subject}/${self}`) % 1000) / 1000) * spread;
}

/**
 * When a viewer that is no first rechecker asks a loss of the same life again (RELOST_PERIODS), in periods after it:
 * its late recheck's moment, less LATE_RECHECK_PERIODS - RECHECK_PERIODS[0] (spread alike). A host that vanished,
 * came back a moment and vanished again was lost again by every viewer in one second (its notice), and each asked
 * it 2 periods later: 59 requests to its absent address in one second at 60 agents (attacks/recheck-flapping-host).
 * Spread, RECHECKS_PER_PERIOD a period (twice that with the late rechecks); a busy peer lost again by a few is still
 * asked 2 periods before their late rechecks, by the first of them soonest, whose ask its late loop refutes by
 * multicast (lost-askers.ts), reviving the rest.
 */
export function relostRecheckPeriods(self: string, subject: string, members: number): number {
  return lateRecheckPeriods(self, subject, members) - (LATE_RECHECK_PERIODS - RECHECK_PERIODS[0]);
}

/**
 * The losses on timeouts alone that this agent asks again, a bounded few times (RECHECK_PERIODS), only while
 * its own loop is on time. Only the subject's own answer at its endpoint revives it: a recheck believes no one.
 */
export class LostRechecks {
  private readonly pending = new Map<string, Pending>();
  /** When each of the last few peers was lost, in which life (RELOST_PERIODS). */
  private readonly lostAt = new Map<string, { incarnation: number; at: number }>();

  /** `self`: this agent's name; `viewers`: the names of the agents it holds alive (firstRechecker; Membership). */
  constructor(
    private readonly periodMs: number,
    private readonly self = '',
    private readonly viewers: () => ReadonlySet<string> = () => new Set(),
  ) {}

  /** The peer was lost (`onTimeouts`: on unanswered probes alone, to be checked again). */
  lost(peer: Peer, now: number, onTimeouts: boolean): void {
    this.pending.delete(peer.name);
    const again = this.lostAgain(peer, now);
    if (!onTimeouts) return;
    const { incarnation } = peer.replica;
    const until = now + RECHECK_WAIT_PERIODS * this.periodMs;
    const viewers = this.viewers();
    const pending: Pending = { incarnation, due: now + RECHECK_PERIODS[0] * this.periodMs, tries: 0, until };
    if (!firstRechecker(this.self, peer.name, viewers)) {
      const late = now + lateRecheckPeriods(this.self, peer.name, viewers.size + 1) * this.periodMs;
      if (again)
        [pending.due, pending.late] = [
          now + relostRecheckPeriods(this.self, peer.name, viewers.size + 1) * this.periodMs,
          late,
        ];
      else if (earlyAsker(this.self, peer.name, now, viewers.size + 1)) pending.tries = RECHECK_PERIODS.length - 1;
      else [pending.due, pending.tries] = [late, RECHECK_PERIODS.length - 1]; // once
    }
    this.pending.set(peer.name, pending);
    for (const name of this.pending.keys()) if (this.pending.size > RECHECKED_LOSSES) this.pending.delete(name);
  }

  /**
   * When the lost peer is next checked again (Infinity: not). One due while this agent's loop is late
   * (`onTime` false) waits a period: the probe's answer would be read late, as the timeouts' were.
   */
  dueAt(peer: Peer, now: number, onTime: boolean): number {
    const p = this.pending.get(peer.name);
    if (p === undefined) return Infinity;
    if (p.incarnation !== peer.replica.incarnation || p.tries >= RECHECK_PERIODS.length || now >= p.until) {
      this.pending.delete(peer.name);
      return Infinity;
    }
    if (p.due <= now && !onTime) p.due = now + this.periodMs;
    return p.due;
  }

  /** A recheck of the peer is sent now. */
  sent(peer: Peer, now: number): void {
    const p = this.pending.get(peer.name);
    if (p === undefined) return;
    p.tries += 1;
    p.due = p.late ?? now + (RECHECK_PERIODS[p.tries] ?? 0) * this.periodMs;
  }

  forget(name: string): void {
    this.pending.delete(name);
    this.lostAt.delete(name);
  }

  /** Whether this life of the peer was lost here within RELOST_PERIODS before `now` (and so revived since). */
  private lostAgain(peer: Peer, now: number): boolean {
    const { incarnation } = peer.replica;
    const before = this.lostAt.get(peer.name);
    this.lostAt.delete(peer.name);
    this.lostAt.set(peer.name, { incarnation, at: now });
    for (const name of this.lostAt.keys()) if (this.lostAt.size > RECHECKED_LOSSES) this.lostAt.delete(name);
    return before?.incarnation === incarnation && now - before.at < RELOST_PERIODS * this.periodMs;
  }
}
