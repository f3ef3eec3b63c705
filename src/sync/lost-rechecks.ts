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

  constructor(private readonly periodMs: number) {}

  /** The peer was lost (`onTimeouts`: on unanswered probes alone, to be checked again). */
  lost(peer: Peer, now: number, onTimeouts: boolean): void {
    this.pending.delete(peer.name);
    if (!onTimeouts) return;
    const { incarnation } = peer.replica;
    const until = now + RECHECK_WAIT_PERIODS * this.periodMs;
    this.pending.set(peer.name, { incarnation, due: now + RECHECK_PERIODS[0] * this.periodMs, tries: 0, until });
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
