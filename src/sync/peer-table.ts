import { fnv1a32, type Message } from '../protocol/messages.js';
import type { Endpoint, PeerSummary } from '../transport/transport.js';
import { RecentChanges, type ChangesSeen } from '../util/recent-changes.js';
import type { OriginReplica } from './origin-replica.js';

export interface Peer {
  readonly name: string;
  /** Where its peer endpoint is believed to be: moved only once a probe there answers as this agent. */
  endpoint: Endpoint;
  /** Its current life; replaced whole by a newer incarnation. */
  replica: OriginReplica;
  lastHeard: number;
  /** Sender time of its newest authenticated datagram: one not newer is a replay (or a copy). */
  lastSentAt: number;
  /** It answered a probe or a catch-up at its endpoint at least once: set through PeerTable.verify only. */
  readonly verified: boolean;
  /** Added, unverified, from a summary (SummaryAdoption): dropped if its endpoint fails it before it answers. */
  adopted?: boolean;
  /** Requests at its endpoint that timed out while it was adopted and unverified (Transitions.unreachable). */
  adoptedTimeouts?: number;
  /** The peer whose summary named it, when adopted: its retries are that peer's share (SummaryAdoption.askAgain). */
  adoptedFrom?: string;
  probing: boolean;
  probedAt: number;
  probes: number;
  /** Probes of it failed in a row: a lost peer is probed again, less often the longer it stays silent. */
  probeFailures: number;
  /**
   * Its last heartbeat, when handling it left nothing to do: the same heartbeat again (the memo hands
   * out the same object for the same bytes) only says the peer is still there.
   */
  quiet?: Message;
  /** `address:port` of its endpoint, as name claims key it. */
  claimKey: string;
  /** Where its datagrams come from: where a unicast datagram reaches it (liveness heartbeats, to monitors). */
  datagram?: Endpoint;
  /**
   * The datagram endpoint its own answer at its peer endpoint named (a hello that asked, in this life): where
   * this agent's rounds reach it before a datagram of it is heard (endpoint-proofs.ts). Never from a summary.
   */
  answeredDatagram?: Endpoint;
  /** Its multicast heartbeat interval when the site's size stretched it (Message.intervalMs). */
  intervalMs?: number;
  /**
   * Learnt of second-hand (a summary, the waiting room): until a datagram of it is heard (`datagram`), its
   * interval is taken to be this agent's own (ring.ts intervalOf).
   */
  secondHand?: boolean;
  /** When its endpoint last refuted a newer life an unsigned message named (ProvisionalLives). */
  refutedAt?: number;
  /** When a distrusted reporter last named it lost (open sites): its backstop is shortened a while (Sweep). */
  noticedAt?: number;
  /** Its summary, asked and not yet answered (summary-asks.ts summaryOf): a second ask meanwhile shares it. */
  summaryAsked?: Promise<readonly PeerSummary[] | undefined>;
  /** An endpoint a probe was asked at while one of it was under way (a move during a check): asked before a loss. */
  elsewhere?: Endpoint;
  /**
   * The life of a set a bulk answer gave of it second-hand, until its own answer names that set's version and digest
   * (BulkSets.answered). Every probe of it asks for the digest meanwhile (askerOf), not only the check: a check that
   * came back `lagged` (a newcomer frozen at its join) left the set to the next probe, which asked none, and the set
   * was withdrawn and fetched whole: 2 requests an origin at the resume (seed 2322, host faults, `thaw-storm`).
   */
  setToCheck?: number;
  /** Its unicast datagrams taken (rounds, beats), and this agent's rounds sent to it: a diagnosis (sync-view.ts). */
  unicastHeard?: number;
  roundsSent?: number;
}

/**
 * Every agent this one knows, by name and by the name hash that hints carry; bounded. It is the only
 * writer of who is in it and who is verified, so it keeps the count of unverified peers and an epoch
 * that changes with either: what is derived from them (the members, the ring) is rebuilt when it moves.
 */
export class PeerTable {
  private readonly byName = new Map<string, Peer>();
  private readonly namesByHash = new Map<number, string[]>();
  /**
   * The peer byHash gives, kept beside namesByHash: one lookup a hint instead of two and the names' array. A
   * receiver's hint pass is memory-bound where many agents share a host's caches (the scale step's 50 a process).
   */
  private readonly lastByHash = new Map<number, Peer>();
  private unverified = 0;
  private readonly log = new RecentChanges();

  constructor(private readonly limits: { peers: number; unverifiedPeers: number }) {}

  get(name: string): Peer | undefined {
    return this.byName.get(name);
  }

  /** The peer of the name with this hash added last (of colliding names). */
  byHash(hash: number): Peer | undefined {
    return this.lastByHash.get(hash);
  }

  /** Every peer whose name has this hash: more than one when names collide (a beat tells them by endpoint). */
  allByHash(hash: number): Peer[] {
    const peers: Peer[] = [];
    for (const name of this.namesByHash.get(hash) ?? []) {
      const peer = this.byName.get(name);
      if (peer) peers.push(peer);
    }
    return peers;
  }

  values(): IterableIterator<Peer> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }

  /** Every peer added, removed or verified, by name. */
  get changes(): ChangesSeen {
    return this.log;
  }

  /** The peer answered at its endpoint (or signed with the site's key): for good. */
  verify(peer: Peer): void {
    if (peer.verified) return;
    (peer as { verified: boolean }).verified = true;
    if (this.byName.get(peer.name) !== peer) return;
    this.unverified--;
    this.log.bump(peer.name);
  }

  /**
   * Whether one more agent may be added; if the table is full, `evictable` names one that may go (a left
   * or lost agent) so that live newcomers still find room. Unverified agents have a budget of their own.
   */
  room(
    verified: boolean,
    evictable: (peer: Peer) => boolean,
  ): { ok: true; evict?: Peer } | { ok: false; reason: string } {
    if (!verified && this.unverified >= this.limits.unverifiedPeers) return { ok: false, reason: 'unverified-peers' };
    if (this.byName.size < this.limits.peers) return { ok: true };
    for (const p of this.byName.values()) if (evictable(p)) return { ok: true, evict: p };
    return { ok: false, reason: 'peers' };
  }

  add(peer: Peer): void {
    const replaced = this.byName.get(peer.name);
    if (replaced && !replaced.verified) this.unverified--;
    this.byName.set(peer.name, peer);
    const hash = fnv1a32(peer.name);
    const names = (this.namesByHash.get(hash) ?? []).filter((n) => n !== peer.name);
    this.namesByHash.set(hash, [...names, peer.name]);
    this.lastByHash.set(hash, peer);
    if (!peer.verified) this.unverified++;
    this.log.bump(peer.name);
  }

  remove(name: string): void {
    const peer = this.byName.get(name);
    this.byName.delete(name);
    const hash = fnv1a32(name);
    const names = (this.namesByHash.get(hash) ?? []).filter((n) => n !== name);
    const last = names.length > 0 ? this.byName.get(names[names.length - 1]) : undefined;
    if (names.length > 0) this.namesByHash.set(hash, names);
    else this.namesByHash.delete(hash);
    if (last) this.lastByHash.set(hash, last);
    else this.lastByHash.delete(hash);
    if (!peer) return;
    if (!peer.verified) this.unverified--;
    this.log.bump(name);
  }
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.address === b.address && a.port === b.port;
}
