import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { OriginReplica } from './origin-replica.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * After a refutation, how long a newer life named by an unsigned message at the peer's own endpoint is only
 * probed (at most once a liveness period), not taken provisionally: a forger repeating its datagram would
 * otherwise swap the peer's replica back and forth, each time holding its real datagrams up for a round trip.
 */
export const REFUTED_HOLD_MS = 60_000;

/** The signal of the probe that checks a goodbye (ProvisionalLives.afterGoodbye). */
export const GOODBYE_CHECK = 'goodbye-check';

/**
 * Newer lives of a peer named by an unsigned message (an open site's datagram, an mDNS record) from the
 * peer's own endpoint. A restart in place must be heard at once, but a UDP source address is forged at no
 * cost on a LAN: taken whole, one forged heartbeat made every agent take the peer's real datagrams and
 * probe answers for an old life's, its data frozen until it restarted. A TCP answer at the endpoint cannot
 * be forged off-path, so such a life is provisional: the life it replaced is kept whole (replica.previous),
 * nothing of the new one is written to the directory, and the first answer at the endpoint to a request made
 * in the new life (its catch-up, or a probe) confirms it or, naming an older life, refutes it. A restart
 * in place costs its devices one request's round trip (the catch-up that fetches them also confirms it).
 * The end of a life an unsigned goodbye names is settled at the endpoint the same way (afterGoodbye).
 */
export class ProvisionalLives {
  private readonly log: RateLimitedLog;

  constructor(
    private readonly s: SyncContext,
    private readonly newLife: (peer: Peer, incarnation: number, version: number, signal: string) => void,
    private readonly probe: (peer: Peer, signal: string) => void,
  ) {
    this.log = new RateLimitedLog(s.c.clock, REFUTED_HOLD_MS);
  }

  /**
   * Takes the named life provisionally, unless a life of this peer was refuted lately (then: false, the
   * caller only probes). A provisional life named again by a newer one keeps the confirmed life to go back to.
   */
  take(peer: Peer, incarnation: number): boolean {
    if (peer.refutedAt !== undefined && this.s.c.clock.monotonic() - peer.refutedAt < REFUTED_HOLD_MS) {
      this.s.c.metrics.provisionalLives.inc({ result: 'held' });
      return false;
    }
    const previous = peer.replica.previous ?? peer.replica;
    this.newLife(peer, incarnation, 0, 'new-incarnation');
    peer.replica.previous = previous;
    this.s.c.metrics.provisionalLives.inc({ result: 'taken' });
    return true;
  }

  /**
   * The peer's endpoint answered with life `incarnation` to a request made while `asked` was its replica.
   * False when the answer says nothing of the provisional life now held: the request went out before it was
   * named (an old life's answer in flight across a real restart).
   */
  answered(peer: Peer, asked: OriginReplica, incarnation: number, how: 'probe' | 'catch-up'): boolean {
    const r = peer.replica;
    if (!r.previous) return true;
    if (asked !== r) return false;
    if (incarnation >= r.incarnation) {
      r.previous = undefined;
      this.s.c.metrics.provisionalLives.inc({ result: 'confirmed' });
      return true;
    }
    this.refute(peer, r, r.previous, incarnation, how);
    return true;
  }

  /**
   * The endpoint answers with an older life than the one an unsigned message named: that message was forged
   * (or very late). The previous life is taken back whole, with all it held: nothing of the provisional one
   * was written to the directory. If the endpoint's life lies between the two, it is that one (a restart
   * the forger overtook), believed as any answer at the endpoint is.
   */
  private refute(peer: Peer, r: OriginReplica, previous: OriginReplica, answered: number, how: string): void {
    r.retire();
    r.previous = undefined;
    peer.replica = previous;
    peer.refutedAt = this.s.c.clock.monotonic();
    this.s.c.metrics.provisionalLives.inc({ result: 'refuted' });
    if (this.log.allow(peer.name))
      this.s.c.logger.warn(
        { agent: peer.name, named: r.incarnation, answered, how },
        "a newer life named by an unsigned message from the agent's own address was refuted at its endpoint " +
          '(a forged source address?); its current life is kept. Set a cluster key',
      );
    if (answered > previous.incarnation) this.newLife(peer, answered, 0, 'new-incarnation');
  }

  /**
   * A datagram of a life after its goodbye, from the peer's endpoint. An open site's goodbye is unsigned: one
   * from any host marked a running agent left everywhere, its datagrams ignored until it was forgotten an
   * hour later. One that still speaks a period after its goodbye (a stopping agent's heartbeat overtaken by
   * its goodbye comes within milliseconds; its endpoint is closed by then) is asked at its endpoint, at most
   * once a period; an answer of that very life there undoes the goodbye (goodbyeRefuted).
   */
  afterGoodbye(peer: Peer): void {
    const now = this.s.c.clock.monotonic();
    const period = this.s.cfg.livenessPeriodMs;
    if (now - peer.replica.leftAt >= period && now - peer.probedAt >= period) this.probe(peer, GOODBYE_CHECK);
  }

  /** Whether a goodbye check's answer names the life that said goodbye: then that goodbye was forged. */
  goodbyeRefuted(peer: Peer, incarnation: number, signal: string): boolean {
    const r = peer.replica;
    if (signal !== GOODBYE_CHECK || !r.left || incarnation !== r.incarnation) return false;
    this.s.c.metrics.announcementsIgnored.inc({ reason: 'refuted-goodbye' });
    if (this.log.allow(`${peer.name}:goodbye`))
      this.s.c.logger.warn(
        { agent: peer.name, incarnation },
        'an agent said to have left answers at its endpoint: the goodbye was forged (set a cluster key)',
      );
    return true;
  }
}
