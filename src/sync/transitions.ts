import type { Endpoint, Hello, PeerSummary } from '../transport/transport.js';
import { BulkSets } from './bulk-sets.js';
import { AnnounceChallenges } from './challenges.js';
import { FirstHandWords } from './first-hand-words.js';
import type { Catchup } from './catchup.js';
import { BULK_SIGNAL, forgetEndpoints } from './endpoint-proofs.js';
import { LEFT } from './hints.js';
import { JoinProbe } from './join-probe.js';
import { JoinView } from './join-view.js';
import type { Liveness } from './liveness.js';
import type { NameClaims } from './name-claims.js';
import { OriginReplica } from './origin-replica.js';
import { sameEndpoint, type Peer } from './peer-table.js';
import { ProvisionalLives } from './provisional-lives.js';
import { MessageType } from '../protocol/messages.js';
import { SummaryAdoption } from './summary-adoption.js';
import type { SyncContext } from './sync-context.js';
import { WaitingRoom } from './waiting-room.js';

/**
 * The transitions of an origin in the peer table: discovered, a new life, a goodbye, heard from by a
 * verified answer, learnt of second-hand, forgotten. Each replaces or retires state whole.
 */
export class Transitions {
  constructor(
    private readonly s: SyncContext,
    private readonly parts: {
      catchup: () => Catchup;
      liveness: () => Liveness;
      claims: () => NameClaims;
      /** Probes an agent not yet known at the endpoint someone named, and adds it if it answers. */
      verify: (name: string, endpoint: Endpoint, signal: string) => void;
      /** The site has a key: a peer's answer (its summary included) is signed by a member. */
      keyed: boolean;
    },
  ) {
    this.adoption = new SummaryAdoption(s);
    this.keyed = parts.keyed;
    const words = new FirstHandWords(s);
    this.challenges = new AnnounceChallenges(
      s,
      { keyed: parts.keyed, catchup: () => this.parts.catchup(), words, deadline: (ms) => this.deadline(ms) },
      s.c.nonce,
    );
    this.bulk = new BulkSets(s, {
      released: (by) => this.parts.catchup().released(by),
      verify: (peer) => void this.parts.liveness().probe(peer, peer.endpoint, BULK_SIGNAL),
      confirmed: (peer) => words.confirm(peer),
      deadline: (ms) => this.deadline(ms),
      keyed: parts.keyed,
    });
    this.joinView = new JoinView(s, (summaries, from) => {
      for (const x of summaries) if (x.name !== s.cfg.name) this.learnOf(x, from);
    });
    this.join = new JoinProbe(
      s,
      this.bulk,
      (peer, periods) => this.parts.liveness().probe(peer, peer.endpoint, 'join', periods),
      { joined: (peer) => this.joinView.joined(peer), stretch: (ms) => this.parts.liveness().health.stretch(ms) },
    );
    this.lives = new ProvisionalLives(
      s,
      (...life) => this.newLife(...life),
      (peer, signal) => void this.parts.liveness().probe(peer, peer.endpoint, signal),
    );
  }

  /** A deadline of `ms` stretched by this agent's own late turns (LocalHealth.turnsDeadline). */
  private deadline(ms: number): number {
    return this.parts.liveness().health.turnsDeadline(ms);
  }

  /** Newer lives named by an unsigned message at the peer's own endpoint, until the endpoint answers. */
  readonly lives: ProvisionalLives;

  private readonly join: JoinProbe;
  /** The join's view, checked against other peers' after its summary (join-view.ts). */
  private readonly joinView: JoinView;
  private readonly waiting = new WaitingRoom();
  private readonly adoption: SummaryAdoption;
  /** The join's bulk catch-up from its summary's member (bulk-sets.ts). */
  readonly bulk: BulkSets;
  /** An open site's announcements of agents not yet verified, checked by datagram (challenges.ts). */
  readonly challenges: AnnounceChallenges;
  readonly keyed: boolean;

  /**
   * The first datagram of a site whose heartbeats are stretched (over ~25 agents): only about 8 answer a
   * solicit there, and the others' heartbeats come every tens of seconds, so the rest of the site is
   * learnt at once from this peer's summary (its first probe asks for it).
   */
  joiningLargeSite(peer: Peer): void {
    this.join.start(peer);
  }

  /** A new incarnation: its replica replaces the old life's whole, and it is alive whatever the old was. */
  newLife(peer: Peer, incarnation: number, version: number, signal: string): void {
    peer.replica.retire();
    peer.replica = new OriginReplica(this.s.c.directory, this.s.c.clock, peer.name, incarnation);
    peer.lastSentAt = 0;
    peer.quiet = undefined;
    // The old process's socket and roaming hint: the new life binds its own (another port), named by its first
    // datagram or its answer (endpoint-proofs.ts).
    forgetEndpoints(peer);
    this.s.hints.forget(peer.name);
    this.s.c.directory.revive(peer.name);
    if (version > 0) this.parts.catchup().want(peer, version, signal);
  }

  /**
   * A message names a newer life of the peer. Adopted from a signed datagram. From the peer's own endpoint
   * (a restart in place must stay fast) an open site's datagram or mDNS record is taken provisionally, until
   * the endpoint answers (ProvisionalLives): its source address may be forged. Otherwise (from another
   * endpoint, or soon after a refuted one) it is only a reason to probe there; an answer as the peer names
   * its life, adopted then (a restart at a new address). Adopted at once, one forged heartbeat from any host
   * made every agent drop the peer's own datagrams as an old life's: it stayed alive, its changes never arrived.
   */
  namedLife(peer: Peer, incarnation: number, endpoint: Endpoint, datagram: boolean): boolean {
    if (datagram && this.parts.keyed) {
      this.newLife(peer, incarnation, 0, 'new-incarnation');
      return true;
    }
    const here = sameEndpoint(endpoint, peer.endpoint);
    if (here && this.lives.take(peer, incarnation)) return true;
    this.s.c.metrics.announcementsIgnored.inc({ reason: 'unconfirmed-life' });
    // Repeated after a refutation, at most once a period: a forger's stream is not a probe stream.
    if (!here || this.s.c.clock.monotonic() - peer.probedAt >= this.s.cfg.livenessPeriodMs)
      void this.parts.liveness().probe(peer, endpoint);
    return false;
  }

  /**
   * A goodbye is a change like any other: agents that heard it in a datagram repeat it (as a hint with
   * version 0) on their next heartbeats, so a host that lost both goodbye datagrams still learns it.
   * One heard only over mDNS is not repeated: it was not authenticated.
   */
  goodbye(peer: Peer, how: string, repeat: boolean): void {
    // Not of a life its endpoint has not confirmed: a forged one would mark a running agent left.
    if (peer.replica.previous) return this.s.c.metrics.announcementsIgnored.inc({ reason: 'unconfirmed-life' });
    if (!peer.replica.goodbye()) return;
    peer.quiet = undefined;
    if (repeat) this.s.hints.note(peer.name, peer.replica.incarnation, LEFT, true);
    this.s.c.logger.info({ agent: peer.name, how }, 'agent left');
  }

  /**
   * A message of a life after its goodbye: ignored (undefined: nothing of it is handled), and on an open site
   * perhaps the sign of a forged goodbye.
   */
  afterGoodbye(peer: Peer, type: MessageType, endpoint: Endpoint): undefined {
    this.s.c.metrics.announcementsIgnored.inc({ reason: 'after-goodbye' });
    if (!this.parts.keyed && type !== MessageType.goodbye && sameEndpoint(endpoint, peer.endpoint))
      this.lives.afterGoodbye(peer);
    return undefined;
  }

  /** A verified answer from the peer (a probe): its life, its version, and that it is there now. */
  heardFrom(peer: Peer, hello: Hello, signal: string): void {
    if (hello.incarnation > peer.replica.incarnation) this.newLife(peer, hello.incarnation, 0, 'new-incarnation');
    // The life that said goodbye answers: the goodbye was forged, and this life goes on in a replica of its own.
    else if (this.lives.goodbyeRefuted(peer, hello.incarnation, signal))
      this.newLife(peer, hello.incarnation, 0, signal);
    if (peer.replica.left) return;
    // Named by the agent itself, over a connection to its address (signed, on a keyed site): endpoint-proofs.ts.
    if (hello.datagramPort !== undefined)
      peer.answeredDatagram = { address: peer.endpoint.address, port: hello.datagramPort };
    this.parts.liveness().heard(peer);
    this.parts.catchup().reachable(peer);
    this.bulk.answered(peer, hello);
    this.parts.catchup().want(peer, hello.version, signal);
  }

  /**
   * An agent a verified peer (`from`, where known) named in its summary: second-hand, so it neither revives nor
   * refreshes.
   */
  learnOf(s: PeerSummary, from?: string): void {
    const endpoint = { address: s.address, port: s.port };
    // Not even probed: an open site's peer could otherwise point this agent's requests anywhere.
    if (!this.parts.keyed && this.adoption.offLink(s.address))
      return this.s.bounds.hit('summary-off-link', { agent: s.name, address: s.address });
    const known = this.s.peers.get(s.name);
    // With a key the summary is a member's signed answer, as good as a signed datagram naming the agent.
    if (!known && (this.parts.keyed || this.adoption.allows(s))) return this.adopt(s, endpoint, from);
    if (!known) return this.parts.verify(s.name, endpoint, 'summary');
    const r = known.replica;
    if (s.incarnation < r.incarnation || (s.incarnation === r.incarnation && r.left)) return;
    const alive = this.s.c.directory.held(s.name)?.state === 'alive';
    // A newer life, another endpoint, or a lost agent said to be there: asked first-hand, never believed.
    if (s.incarnation > r.incarnation || !alive || !sameEndpoint(endpoint, known.endpoint))
      return void this.parts.liveness().probe(known, endpoint, 'summary');
    this.parts.catchup().want(known, s.version, 'summary');
  }

  /** Without a key, added unverified (see SummaryAdoption); past the unverified places, it waits. */
  private adopt(s: PeerSummary, endpoint: Endpoint, from: string | undefined): void {
    const peer = this.discover(s.name, endpoint, s.incarnation, this.parts.keyed, s.version);
    if (!peer && !this.parts.keyed) return this.adoption.wait(s.name, from);
    if (!peer) return;
    peer.adopted = !this.parts.keyed;
    if (peer.adopted) peer.adoptedFrom = from;
    this.secondHand(peer);
    this.parts.catchup().want(peer, s.version, 'summary');
  }

  /**
   * An agent learnt of second-hand (a summary, the waiting room) has sent this one no datagram, so its
   * interval is not known: judged by the one-second period, it was probed every 2.5 s until its next
   * heartbeat, tens of seconds away (one agent adopted by the last starters of 1,000 served 45 summaries
   * in 80 s of idle, one probe in 16 asking for one). Every member computes about the same interval from
   * the same member count (RTCP, RFC 3550 §6.3), so this agent's own is assumed until its datagram says
   * (ring.ts intervalOf: looked up when judged, since a newcomer adopts the site before it counts it).
   */
  private secondHand(peer: Peer): void {
    peer.secondHand = true;
  }

  /**
   * A request at an agent's endpoint failed. An adopted one that never answered there (a made-up name, or
   * a real one cut off) is dropped, so that a forged summary costs one request per name (two if the first
   * times out: SummaryAdoption.askAgain), not a backoff's worth; a real one is learnt again from its heartbeat
   * or verified. Dropped once the failed request is settled: forgotten during it, its retry would be scheduled
   * for a forgotten agent.
   */
  unreachable(name: string, timedOut = false): void {
    const peer = this.s.peers.get(name);
    if (!peer?.adopted || peer.verified) return;
    // A timeout is what a busy agent gives (a cold start's): forgotten at its first, the last pair of the 200-agent
    // cold start learnt it ~100 s later (sync-adopted-busy). A refusal (nothing listens) is not asked again.
    // A probe's timeout while its catch-up is still to come (queued, or its second request waiting) is left to that
    // request: counted, a new life named meanwhile cost the busy origin its second request (sync-adopted-busy).
    const { kind } = peer.replica.catchup;
    if (timedOut && (kind === 'queued' || kind === 'waiting')) return;
    if (timedOut && this.adoption.askAgain(peer)) return;
    queueMicrotask(() => {
      if (this.s.peers.get(name) !== peer || peer.verified || peer.replica.catchup.kind === 'fetching') return;
      this.adoption.decline(peer.endpoint);
      this.forget(peer);
    });
  }

  /**
   * Adds an agent heard of for the first time, if the bounds leave room. `verified`: it answered at its
   * endpoint, or spoke in a datagram signed with the site's key; any other must answer there first.
   */
  discover(name: string, endpoint: Endpoint, incarnation: number, verified: boolean, version = 0): Peer | undefined {
    const room = this.s.peers.room(verified, (p) => this.s.c.directory.held(p.name)?.state !== 'alive');
    if (!room.ok) {
      if (room.reason === 'unverified-peers' && version > 0) {
        const at = this.s.c.clock.monotonic();
        this.waiting.add(name, { endpoint, incarnation, version, at });
      }
      this.s.bounds.hit(room.reason, { agent: name, known: this.s.peers.size });
      return undefined;
    }
    if (room.evict) this.forget(room.evict);
    const now = this.s.c.clock.monotonic();
    const peer: Peer = {
      name,
      endpoint,
      replica: new OriginReplica(this.s.c.directory, this.s.c.clock, name, incarnation),
      lastHeard: now,
      lastSentAt: 0,
      verified,
      probing: false,
      probedAt: 0,
      probes: 0,
      probeFailures: 0,
      claimKey: `${endpoint.address}:${endpoint.port}`,
    };
    this.s.peers.add(peer);
    this.s.c.directory.ensureOrigin(name, { address: endpoint.address, peerPort: endpoint.port });
    this.s.c.logger.info({ agent: name, address: endpoint.address }, 'agent discovered');
    return peer;
  }

  /** Agents that waited for a place among the unverified: added while places are free, then caught up. */
  admitWaiting(): void {
    for (const [name, w] of this.waiting.due(this.s.c.clock.monotonic())) {
      if (!this.s.peers.get(name)) {
        const peer = this.discover(name, w.endpoint, w.incarnation, false);
        if (!peer) return;
        const adopted = this.adoption.admitted(name);
        peer.adopted = adopted !== undefined;
        if (adopted) peer.adoptedFrom = adopted.from;
        this.secondHand(peer);
        this.parts.catchup().want(peer, w.version, 'waited');
      }
      this.waiting.remove(name);
    }
  }

  forget(peer: Peer): void {
    peer.replica.retire();
    this.s.c.directory.forget(peer.name);
    this.parts.claims().forget(peer.name);
    this.s.peers.remove(peer.name);
    this.s.hints.forget(peer.name);
  }
}
