import { fnv1a32 } from '../protocol/messages.js';
import type { Peer } from './peer-table.js';

/**
 * Periods before each probe that checks again a peer this agent lost on timeouts alone: the first after the
 * loss, the next after the first. A timeout is the only evidence of such a loss, and in a loaded cold start it
 * is most often the peer's busy loop or this agent's (issue 18, lost16: two viewers held a live agent lost
 * from ~55 s to 147 s of the 200-agent start on real sockets). A monitor's loss sends a notice that the subject
 * refutes; any other loss (a notice's or a relay's confirming probe, a backstop's check, a monitor that doubts
 * itself and tells no one) was asked again by no one until the subject's next multicast heartbeat, ~80 s apart
 * at 200 agents. Two probes bound the cost of a true loss: a vanished host lost on an open site by its notice's
 * confirming probes is asked twice more by each viewer that lost it (a crash refuses, and is not asked again).
 */
export const RECHECK_PERIODS: readonly number[] = [2, 6];

/**
 * How long a recheck may wait for this agent's own loop to be on time, in periods after the loss (its answer
 * would be read after its deadline, as the timeouts were): past this, the peer's next heartbeat is left to say.
 */
export const RECHECK_WAIT_PERIODS = 60;

/**
 * Periods over which the viewers' rechecks of one loss are spread, by a hash of the viewer's and the peer's names (no
 * draw from the agent's random source, which the simulator shares): every viewer takes a vanished host's loss in
 * the same second (its notice), and without a spread their rechecks came together, 59 requests in one second to an
 * absent address at 60 agents, 199 at 200 (attack19, attacks/recheck-amplification), each a neighbour lookup
 * (an ARP broadcast on a real LAN), twice.
 */
export const RECHECK_SPREAD_PERIODS = 2;

/** A viewer's share of the spread for a peer's rechecks, stable for the pair. */
export function recheckSpreadMs(viewer: string, peer: string, periodMs: number): number {
  return ((fnv1a32(`${viewer}/${peer}`) % 1000) / 1000) * RECHECK_SPREAD_PERIODS * periodMs;
}

/** The most losses waiting to be checked again, oldest out: each is one more peer this agent talks to (ARP). */
export const RECHECKED_LOSSES = 16;

interface Pending {
  incarnation: number;
  due: number;
  tries: number;
  until: number;
}

/**
 * The losses on timeouts alone that this agent asks again, a bounded few times (RECHECK_PERIODS), only while
 * its own loop is on time. Only the subject's own answer at its endpoint revives it: a recheck believes no one.
 */
export class LostRechecks {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly periodMs: number,
    private readonly self = '',
  ) {}

  private offset(name: string): number {
    return recheckSpreadMs(this.self, name, this.periodMs);
  }

  /** The peer was lost (`onTimeouts`: on unanswered probes alone, to be checked again). */
  lost(peer: Peer, now: number, onTimeouts: boolean): void {
    this.pending.delete(peer.name);
    if (!onTimeouts) return;
    const { incarnation } = peer.replica;
    const until = now + RECHECK_WAIT_PERIODS * this.periodMs;
    const due = now + RECHECK_PERIODS[0] * this.periodMs + this.offset(peer.name);
    this.pending.set(peer.name, { incarnation, due, tries: 0, until });
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
    p.due = now + (RECHECK_PERIODS[p.tries] ?? 0) * this.periodMs;
  }

  forget(name: string): void {
    this.pending.delete(name);
  }
}
