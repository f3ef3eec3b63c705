import { isBeat } from '../protocol/beat.js';
import { DecodeError, intervalBytes } from '../protocol/codec.js';
import { openEnvelope, type Envelope } from '../protocol/envelope.js';
import { HeartbeatMemo } from '../protocol/heartbeat-memo.js';
import { MESSAGE_TYPE_NAMES, MessageType, type Message } from '../protocol/messages.js';
import type { Asker, DatagramKind, Endpoint } from '../transport/transport.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { Announcer } from './announcer.js';
import { heartbeatOfBeat } from './beat.js';
import { Catchup } from './catchup.js';
import { SYNC_LIMITS, syncDefaults, type ClusterSyncInit, type SyncConfig } from './config.js';
import { freshArrival } from './fresh-arrival.js';
import { hintsAfterTurn } from './hint-receiver.js';
import { Hints } from './hints.js';
import { Liveness } from './liveness.js';
import { LostNotices } from './lost-notices.js';
import { NameClaims } from './name-claims.js';
import { MdnsObserver, type Advert } from './mdns-observer.js';
import { MoveProbes } from './move-probes.js';
import { receiveAnnounce } from './announce-receiver.js';
import { PeerTable, sameEndpoint, type Peer } from './peer-table.js';
import { Membership, sizesInterval } from './ring.js';
import { unanswerable } from './source-port.js';
import {
  BoundsLog,
  datagramCounters,
  type Arrival,
  type ClusterSyncComponents,
  type DatagramCounters,
  type SyncContext,
} from './sync-context.js';
import { syncView, type SyncView } from './sync-view.js';
import { Transitions } from './transitions.js';

export { syncDefaults, type ClusterSyncInit } from './config.js';
export type { ClusterSyncComponents } from './sync-context.js';
export type { Advert } from './mdns-observer.js';
export type { SyncView } from './sync-view.js';

/** This agent's directory in step with the site's: datagrams carry changes, counters show gaps, catch-up repairs. */
export class ClusterSync {
  private readonly cfg: SyncConfig;
  private readonly envelope: Envelope;
  private readonly keyed: boolean;
  private readonly peers = new PeerTable(SYNC_LIMITS);
  private readonly hints: Hints;
  private readonly s: SyncContext;
  private readonly catchup: Catchup;
  private readonly liveness: Liveness;
  private readonly moves: MoveProbes;
  private readonly transitions: Transitions;
  private readonly mdns: MdnsObserver;
  private readonly announcer: Announcer;
  private readonly notices: LostNotices;
  private readonly parts = { transitions: () => this.transitions, catchup: () => this.catchup };
  private readonly claims: NameClaims;
  private readonly heartbeats = new HeartbeatMemo();
  private readonly decodeLog: RateLimitedLog;
  private running = false;
  datagramPort: number | undefined; // its datagrams' source port, once started: a hello names it (endpoint-proofs.ts)
  private unsubscribeLocal: (() => void) | undefined;
  private readonly hot: DatagramCounters;
  private readonly unreachableListeners = new Set<(name: string, timedOut?: boolean) => void>();

  constructor(
    private readonly c: ClusterSyncComponents,
    init: ClusterSyncInit,
  ) {
    this.cfg = syncDefaults(init);
    this.envelope = c.envelope ?? openEnvelope;
    this.keyed = this.envelope !== openEnvelope;
    this.decodeLog = new RateLimitedLog(c.clock, 60_000);
    this.hints = new Hints(c.clock, 2 * this.cfg.heartbeatMs);
    this.s = {
      c,
      cfg: this.cfg,
      peers: this.peers,
      hints: this.hints,
      members: new Membership(this.cfg.name, this.peers, c.directory),
      bounds: new BoundsLog(c),
      self: { name: this.cfg.name, incarnation: this.cfg.incarnation, port: this.cfg.peerPort },
      running: () => this.running,
      siteIntervalMs: (members) => this.announcer.stretchedMs(members),
      unreachable: (name, timedOut) => this.unreachableListeners.forEach((listener) => listener(name, timedOut)),
      placeFreed: () => this.running && this.transitions.admitWaiting(),
      refute: () => this.announcer.refute(),
    };
    this.transitions = new Transitions(this.s, {
      catchup: () => this.catchup,
      liveness: () => this.liveness,
      claims: () => this.claims,
      verify: (name, endpoint, signal) => this.mdns.verifyUnknown(name, endpoint, signal),
      keyed: this.keyed,
    });
    const t = this.transitions;
    this.unreachableListeners.add((name, timedOut) => t.unreachable(name, timedOut));
    this.catchup = new Catchup(this.s, (...life) => t.newLife(...life), t.lives, {
      heldSecondHand: (peer) => this.liveness.heldSecondHand(peer),
      deadline: (ms) => this.liveness.health.turnsDeadline(ms),
      lagged: (due, deadlineMs) => this.liveness.health.timedOut(due, deadlineMs),
      stallSince: (since) => this.liveness.health.longestStallSince(since),
      bulkWaitMs: (r, signal) => t.bulk.waitMs(r, signal),
      offered: (peer) => t.bulk.offered(peer),
    });
    this.liveness = new Liveness(this.s, {
      answered: (peer, asked, incarnation) => t.lives.answered(peer, asked, incarnation, 'probe'),
      heardFrom: (peer, hello, signal) => t.heardFrom(peer, hello, signal),
      discover: (summary, from) => t.learnOf(summary, from),
      forget: (peer) => t.forget(peer),
      admitWaiting: () => t.admitWaiting(),
      noticeLost: (p, gather) => this.announcer.notice(p.name, p.replica.incarnation, p.replica.heldVersion(), gather),
      keyed: this.keyed,
    });
    this.moves = new MoveProbes(this.s, this.keyed, (peer, at, signal) => this.liveness.probe(peer, at, signal));
    this.mdns = new MdnsObserver(this.s, this.liveness, t, this.keyed, (msg, from, signal) =>
      this.onMessage(msg, { from, datagram: false, signal }),
    );
    this.announcer = new Announcer(this.s, this.envelope, this.keyed, this.liveness);
    this.notices = new LostNotices(this.s, { liveness: this.liveness, announcer: this.announcer, keyed: this.keyed });
    this.hot = datagramCounters(c.metrics);
    const lost = this.cfg.lostAfterPeriods;
    const claimMs = { peerMs: lost * this.cfg.heartbeatMs, selfMs: lost * this.cfg.livenessPeriodMs };
    this.claims = new NameClaims(c, { name: this.cfg.name, incarnation: this.cfg.incarnation }, claimMs);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.liveness.start();
    if (!this.c.transport) return;
    this.datagramPort = (await this.c.transport.start((data, from, kind) => this.onDatagram(data, from, kind))).port;
    this.unsubscribeLocal = this.c.local.onChange((delta) => this.running && this.announcer.announce(delta));
    this.announcer.start();
  }

  /** Leaves the site: a goodbye (twice, as it cannot be repaired later), then silence. */
  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribeLocal?.();
    this.announcer.stop(opts.goodbye ?? true);
    this.liveness.stop();
    for (const peer of this.peers.values()) peer.replica.retire();
    await this.c.transport?.stop();
  }

  /** An mDNS advert: like a heartbeat without a key; with one, only a reason for a signed probe. */
  observe(advert: Advert, signal: string): void {
    if (this.running) this.mdns.observe(advert, signal);
  }

  /** An unchanged mDNS re-announcement: hearing the agent without a key; with one, a probe if silent. */
  observeRefresh(advert: Advert): void {
    if (this.running) this.mdns.refresh(advert);
  }

  /** An mDNS goodbye (TTL 0): only for the life it names, once a probe finds nothing listening. */
  observeGoodbye(name: string, incarnation: number): void {
    if (this.running) this.mdns.goodbye(name, incarnation);
  }

  /** A probe or catch-up at an agent's endpoint failed: mDNS asks for its records again (RFC 6762 §10.4). */
  onUnreachable(listener: (name: string) => void): () => void {
    this.unreachableListeners.add(listener);
    return () => this.unreachableListeners.delete(listener);
  }

  /** A peer that named itself in a hello it sent (maybe never heard of): probed back before believed. */
  askedBy(asker: Asker & { address: string }): void {
    if (!this.running || asker.name === this.cfg.name) return;
    this.notices.askedLost(asker); // it held this life lost: say so to all (a verified member, on an open site)
    for (const part of [this.mdns, this.liveness.indirect]) part.asked(asker); // probe back; an indirect probe
  }

  /**
   * An operator's forget (agent/forget.ts): the peer goes with its directory entry. Kept, it held the forgotten
   * life's replica with no origin under it: the agent's next life was a move whose every catch-up failed ("unknown
   * origin"), and the agent was never shown again (attacks/forget-return).
   */
  forget(name: string): void {
    const peer = this.peers.get(name);
    if (peer) this.transitions.forget(peer);
  }

  /** Origins whose catch-up is under way or pending: for /readyz and tests. */
  pendingCatchups = (): number => this.catchup.pending();
  /** What this agent holds of `origin` and of its ring neighbours: why a change did not arrive (a diagnosis). */
  readonly inspect = (origin: string): SyncView => syncView(this.s, origin);

  private onDatagram(data: Uint8Array, from: Endpoint, kind: DatagramKind): void {
    if (!this.running || unanswerable(from, this.c.metrics)) return; // source-port.ts
    this.hot.bytesReceived[kind].inc(data.length);
    let msg: ReturnType<typeof heartbeatOfBeat>;
    const sentAt = this.envelope.sentAt?.(data);
    try {
      const opened = this.envelope.open(data);
      msg =
        (isBeat(data) && heartbeatOfBeat(this.s, this.keyed, opened, from, sentAt)) || this.heartbeats.decode(opened);
    } catch (err) {
      const reason = err instanceof DecodeError ? err.reason : 'internal';
      this.c.metrics.decodeErrors.inc({ reason });
      if (!this.decodeLog.allow(`${from.address}:${reason}`)) return;
      const detail = (err as Error).message;
      return this.c.logger.warn({ from: from.address, reason, detail }, 'dropped a datagram that could not be decoded');
    }
    if (typeof msg === 'string') return this.c.metrics.announcementsIgnored.inc({ reason: msg });
    if ('mover' in msg) {
      this.moves.ask(msg.mover, msg.at, 'beat'); // its life from elsewhere, at one of its monitors: a move? (beat.ts)
      return this.c.metrics.announcementsIgnored.inc({ reason: 'unknown-beat' });
    }
    if (msg.site !== this.cfg.site) return this.c.metrics.announcementsIgnored.inc({ reason: 'other-site' });
    if (sizesInterval(this.s, this.keyed, msg, from, kind))
      this.announcer.interval.sized(intervalBytes(msg, data.length));
    const sender = kind === 'unicast' ? this.peers.get(msg.name) : undefined;
    if (sender) sender.unicastHeard = (sender.unicastHeard ?? 0) + 1; // a diagnosis reads it (sync-view.ts)
    this.onMessage(msg, { from, datagram: true, sentAt, signal: isBeat(data) ? 'beat' : undefined });
  }

  private onMessage(msg: Message, arrival: Arrival): void {
    if (msg.name === this.cfg.name) return this.onOwnName(msg, arrival.from);
    // Most datagrams of an idle site: each arrives alone and runs cold, so this path is kept short.
    const known = this.peers.get(msg.name);
    if (known !== undefined && msg === known.quiet && arrival.from.address === known.endpoint.address) {
      this.hot.heartbeats.inc();
      if (freshArrival(known, arrival, this.c.metrics)) {
        this.claims.heard(msg.name, msg.incarnation, known.claimKey);
        this.liveness.heard(known);
      }
      return;
    }
    const type = arrival.signal ?? MESSAGE_TYPE_NAMES[msg.type];
    const received = this.hot.received.get(type);
    if (received) received.inc();
    else this.c.metrics.announcementsReceived.inc({ type });
    const peer = this.arrive(msg, arrival);
    if (!peer || arrival.replay) return; // a replay or copy asks nothing: a captured solicit drew answers
    switch (msg.type) {
      case MessageType.goodbye:
        return this.transitions.goodbye(peer, 'goodbye', arrival.datagram);
      case MessageType.announce:
        receiveAnnounce(this.s, this.catchup, this.keyed, { peer, msg, from: arrival.from });
        break;
      case MessageType.solicit:
        this.announcer.replyToSolicit();
        this.catchup.want(peer, msg.version, 'solicit');
        break;
      case MessageType.heartbeat:
        this.catchup.want(peer, msg.version, arrival.signal ?? 'heartbeat');
        if (msg.view !== undefined && arrival.datagram) this.liveness.rejoin.votes.heard(peer, msg.view, arrival.from);
        break;
      case MessageType.notice:
        return this.notices.receive(peer, msg.hints, arrival.from);
    }
    if (arrival.datagram)
      hintsAfterTurn(this.s, this.parts, msg.hints, { address: arrival.from.address, port: msg.peerPort }, peer);
    // Only heartbeats from the memo are frozen (mDNS observations never are): only they can repeat.
    if (msg.type === MessageType.heartbeat && msg.hints.length === 0 && Object.isFrozen(msg)) {
      const held = this.c.directory.held(msg.name);
      const settled = held?.state === 'alive' && !peer.replica.behind() && peer.replica.catchup.kind === 'idle';
      if (settled && held.incarnation === msg.incarnation) peer.quiet = msg;
    }
  }

  /** The sender, found or added, in the life the message names; undefined: an old life, after its goodbye, no room. */
  private arrive(msg: Message, arrival: Arrival): Peer | undefined {
    const endpoint = { address: arrival.from.address, port: msg.peerPort };
    const peer =
      this.peers.get(msg.name) ??
      this.transitions.discover(msg.name, endpoint, msg.incarnation, arrival.datagram && this.keyed, msg.version);
    if (!peer) return undefined;
    peer.quiet = undefined;
    const replay = arrival.sentAt !== undefined && arrival.sentAt <= peer.lastSentAt;
    if (!replay) this.claims.heard(msg.name, msg.incarnation, `${endpoint.address}:${endpoint.port}`);
    if (msg.incarnation < peer.replica.incarnation) {
      this.c.metrics.announcementsIgnored.inc({ reason: 'old-incarnation' });
      return undefined;
    }
    if (msg.incarnation > peer.replica.incarnation) {
      if (!this.transitions.namedLife(peer, msg.incarnation, endpoint, arrival.datagram)) return undefined;
    } else if (peer.replica.left) return this.transitions.afterGoodbye(peer, msg.type, endpoint);
    // After a new life, so that its first datagram sets the mark its replays are judged by.
    if (!freshArrival(peer, arrival, this.c.metrics)) return peer;
    if (msg.intervalMs !== undefined) this.transitions.joiningLargeSite(peer);
    // Address, unicast target and interval follow authenticated content once a probe there answers as it.
    const here = sameEndpoint(endpoint, peer.endpoint);
    if (here && arrival.datagram)
      [peer.datagram, peer.intervalMs] = [{ address: endpoint.address, port: arrival.from.port }, msg.intervalMs];
    if (here) this.liveness.heard(peer);
    else this.moves.ask(peer, endpoint);
    return peer;
  }

  private onOwnName(msg: Message, from: Endpoint): void {
    if (msg.incarnation === this.cfg.incarnation) return this.c.metrics.announcementsIgnored.inc({ reason: 'own' });
    // Another agent uses our name: both directories would flap between two device sets. Say so loudly.
    this.claims.heardOwnName(msg.incarnation, `${from.address}:${msg.peerPort}`);
  }
}
