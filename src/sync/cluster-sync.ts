import type { Directory } from '../directory/directory.js';
import type { Delta } from '../directory/delta.js';
import type { LocalDeviceSet } from '../directory/local-device-set.js';
import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import { DecodeError, encodeMessage, MAX_RECENT } from '../protocol/codec.js';
import { openEnvelope, type Envelope } from '../protocol/envelope.js';
import { HeartbeatMemo } from '../protocol/heartbeat-memo.js';
import {
  fnv1a32,
  incarnationTag,
  MESSAGE_TYPE_NAMES,
  MessageType,
  type Message,
  type RecentChange,
} from '../protocol/messages.js';
import type { DatagramTransport, Endpoint, PeerClient } from '../transport/transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { jitter, type Random } from '../util/random.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { TokenBuckets } from '../util/token-bucket.js';
import { NameClaims } from './name-claims.js';

/** A hint with this version says the origin said goodbye (real versions start at 1). */
const LEFT = 0;

export interface ClusterSyncComponents {
  directory: Directory;
  local: LocalDeviceSet;
  /** The Herald datagram transport; absent with --discovery mdns, where mDNS carries advertisements. */
  transport?: DatagramTransport;
  peers: PeerClient;
  clock: Clock;
  random: Random;
  logger: Logger;
  metrics: HeraldMetrics;
  envelope?: Envelope;
}

export interface ClusterSyncInit {
  name: string;
  site: string;
  incarnation: number;
  /** The peer endpoint's port, advertised in every datagram. */
  peerPort: number;
  heartbeatMs?: number;
  lostAfterPeriods?: number;
  probeAfterPeriods?: number;
  fetchConcurrency?: number;
  fetchTimeoutMs?: number;
  solicitReplyWindowMs?: number;
  forgetAfterMs?: number;
  reorderGraceMs?: number;
  /**
   * The period liveness is judged in (probe after 2.5, lost after 3.5 of them). The heartbeat period
   * with Herald datagrams; longer with mDNS alone, where every check is a TCP probe.
   */
  livenessPeriodMs?: number;
}

export function syncDefaults(init: ClusterSyncInit): Required<ClusterSyncInit> {
  const heartbeatMs = init.heartbeatMs ?? 1000;
  return {
    ...init,
    heartbeatMs, // a lost last announcement is noticed within about a period
    lostAfterPeriods: init.lostAfterPeriods ?? 3.5, // three heartbeats lost in a row is rare even at 30 % loss
    probeAfterPeriods: init.probeAfterPeriods ?? 2.5, // before calling a silent peer lost, ask it directly over TCP
    fetchConcurrency: init.fetchConcurrency ?? 8, // a joining agent does not open 50 connections at once
    fetchTimeoutMs: init.fetchTimeoutMs ?? Math.max(1000, heartbeatMs * 2), // a stuck peer is given up on and retried
    solicitReplyWindowMs: init.solicitReplyWindowMs ?? Math.min(200, heartbeatMs / 4), // spread replies to a newcomer
    forgetAfterMs: init.forgetAfterMs ?? 3_600_000, // an agent gone for an hour is dropped from /v1/agents
    reorderGraceMs: init.reorderGraceMs ?? 25, // a datagram overtaken by the next one usually arrives within this
    livenessPeriodMs: init.livenessPeriodMs ?? heartbeatMs,
  };
}

interface Peer {
  name: string;
  endpoint?: Endpoint;
  /** The newest (incarnation, version) known to exist; catch-up runs until the directory holds it. */
  target: { incarnation: number; version: number };
  /** Peers that said they hold the target: tried when the origin does not answer. */
  alternates: Endpoint[];
  fetching: boolean;
  queued: boolean;
  retry?: TimerHandle;
  failures: number;
  lastHeard: number;
  probing: boolean;
  probedAt: number;
  probes: number;
  /** Announced deltas that arrived ahead of a missing one, applied when the gap fills. */
  early: Map<number, Delta>;
  graceUntil: number;
  /**
   * Its last heartbeat, when handling it left nothing to do: the same heartbeat again (the memo hands
   * out the same object for the same bytes) only says the peer is still there.
   */
  quiet?: Message;
  /** `address:port` of its endpoint, as name claims key it. */
  claimKey?: string;
}

/**
 * Keeps this agent's directory in step with every other agent of the site.
 *
 * Datagrams (best effort) carry changes fast; version counters reveal what was missed; point-to-point
 * catch-up (reliable) repairs it. See docs/protocol.md for the whole protocol and its reasoning.
 */
export class ClusterSync {
  private readonly cfg: Required<ClusterSyncInit>;
  private readonly envelope: Envelope;
  private readonly peers = new Map<string, Peer>();
  private readonly nameByHash = new Map<number, string>();
  private readonly recent = new Map<string, { incarnation: number; version: number; at: number }>();
  private readonly queue: string[] = [];
  private readonly decodeLog: RateLimitedLog;
  /** Catch-up requests per origin: forged or buggy signals cannot turn into a request storm. */
  private readonly fetchBudget: TokenBuckets;
  private active = 0;
  private heartbeatTimer: TimerHandle | undefined;
  private sweepTimer: TimerHandle | undefined;
  private solicitedReply = false;
  private running = false;
  private unsubscribeLocal: (() => void) | undefined;
  private readonly claims: NameClaims;
  private readonly heartbeats = new HeartbeatMemo();
  /** Counters bumped for every datagram, bound to their labels once. */
  private readonly hot: {
    bytesReceived: { inc(by?: number): void };
    heartbeats: { inc(by?: number): void };
    received: Map<string, { inc(by?: number): void }>;
  };

  constructor(
    private readonly c: ClusterSyncComponents,
    init: ClusterSyncInit,
  ) {
    this.cfg = syncDefaults(init);
    this.envelope = c.envelope ?? openEnvelope;
    this.decodeLog = new RateLimitedLog(c.clock, 60_000);
    this.fetchBudget = new TokenBuckets(c.clock, 10, 20);
    const received = new Map(
      Object.values(MESSAGE_TYPE_NAMES).map((type) => [type, c.metrics.announcementsReceived.labelled({ type })]),
    );
    this.hot = {
      bytesReceived: c.metrics.datagramBytesReceived.labelled(),
      heartbeats: received.get('heartbeat')!,
      received,
    };
    this.claims = new NameClaims(
      c,
      { name: this.cfg.name, incarnation: this.cfg.incarnation },
      {
        peerMs: this.cfg.lostAfterPeriods * this.cfg.heartbeatMs,
        selfMs: this.cfg.lostAfterPeriods * this.cfg.livenessPeriodMs,
      },
    );
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.scheduleSweep();
    if (!this.c.transport) return;
    await this.c.transport.start((data, from) => this.onDatagram(data, from));
    this.unsubscribeLocal = this.c.local.onChange((delta) => this.announce(delta));
    // Tell the site who we are (with our whole set when it fits), then ask peers to say who they are.
    const first = this.c.directory.changesSince(this.cfg.name, this.cfg.incarnation, 0);
    const delta = first?.kind === 'deltas' && first.deltas.length === 1 ? first.deltas[0] : undefined;
    this.send(MessageType.announce, delta);
    this.send(MessageType.solicit);
    this.scheduleHeartbeat(jitter(this.c.random, this.cfg.heartbeatMs, 0.2));
  }

  /** Leaves the site: a goodbye (twice, as it cannot be repaired later), then silence. */
  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribeLocal?.();
    if ((opts.goodbye ?? true) && this.c.transport) {
      this.send(MessageType.goodbye);
      this.send(MessageType.goodbye);
    }
    this.c.clock.clearTimeout(this.heartbeatTimer);
    this.c.clock.clearTimeout(this.sweepTimer);
    for (const peer of this.peers.values()) this.c.clock.clearTimeout(peer.retry);
    await this.c.transport?.stop();
  }

  /**
   * An advertisement heard by another discovery (an mDNS TXT record): handled exactly like a heartbeat,
   * so a newer version leads to the same catch-up.
   */
  observe(
    advert: { name: string; site: string; incarnation: number; version: number; address: string; peerPort: number },
    signal: string,
  ): void {
    if (!this.running || advert.site !== this.cfg.site) return;
    const msg: Message = {
      type: MessageType.heartbeat,
      site: advert.site,
      name: advert.name,
      incarnation: advert.incarnation,
      version: advert.version,
      peerPort: advert.peerPort,
      recent: [],
    };
    this.onMessage(msg, { address: advert.address, port: advert.peerPort }, signal);
  }

  /** A goodbye heard by another discovery (an mDNS record with TTL 0). */
  observeGoodbye(name: string, incarnation: number): void {
    const peer = this.peers.get(name);
    const held = this.c.directory.held(name);
    if (this.running && peer && held && incarnation >= held.incarnation) this.leave(peer, 'mdns goodbye');
  }

  /** Origins whose catch-up is under way or pending: for /readyz and tests. */
  pendingCatchups(): number {
    let n = 0;
    for (const p of this.peers.values()) if (this.behind(p)) n++;
    return n;
  }

  // ---- sending ----------------------------------------------------------------------------------

  private announce(delta: Delta): void {
    if (!this.running) return;
    this.send(MessageType.announce, delta);
    // An announcement says all a heartbeat says: the next heartbeat is a full period away.
    this.scheduleHeartbeat(jitter(this.c.random, this.cfg.heartbeatMs, 0.2));
  }

  private send(type: MessageType, delta?: Delta): void {
    const msg: Message = {
      type,
      site: this.cfg.site,
      name: this.cfg.name,
      incarnation: this.cfg.incarnation,
      version: this.c.local.currentVersion,
      peerPort: this.cfg.peerPort,
      recent: type === MessageType.heartbeat || type === MessageType.announce ? this.recentChanges() : [],
    };
    if (delta) msg.delta = delta;
    const { bytes } = encodeMessage(msg, { reserve: this.envelope.overhead });
    const sealed = this.envelope.seal(bytes);
    if (!this.c.transport) return;
    this.c.transport.send(sealed);
    this.c.metrics.announcementsSent.inc({ type: MESSAGE_TYPE_NAMES[type] });
    this.c.metrics.datagramBytesSent.inc({}, sealed.length);
  }

  private scheduleHeartbeat(delay: number): void {
    this.c.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.c.clock.setTimeout(() => {
      if (!this.running) return;
      this.solicitedReply = false;
      this.send(MessageType.heartbeat);
      this.scheduleHeartbeat(jitter(this.c.random, this.cfg.heartbeatMs, 0.2));
    }, delay);
    this.heartbeatTimer.unref?.();
  }

  /** Changes heard recently, newest first: a receiver that missed one learns it from us. */
  private recentChanges(): RecentChange[] {
    const horizon = this.c.clock.monotonic() - 2 * this.cfg.heartbeatMs;
    const out: { at: number; r: RecentChange }[] = [];
    for (const [name, e] of this.recent) {
      if (e.at < horizon) {
        this.recent.delete(name);
        continue;
      }
      out.push({
        at: e.at,
        r: { nameHash: fnv1a32(name), incarnationTag: incarnationTag(e.incarnation), version: e.version },
      });
    }
    return out
      .sort((a, b) => b.at - a.at)
      .slice(0, MAX_RECENT)
      .map((x) => x.r);
  }

  private noteRecent(name: string): void {
    const held = this.c.directory.held(name);
    if (held)
      this.recent.set(name, { incarnation: held.incarnation, version: held.version, at: this.c.clock.monotonic() });
  }

  // ---- receiving --------------------------------------------------------------------------------

  private onDatagram(data: Uint8Array, from: Endpoint): void {
    if (!this.running) return;
    this.hot.bytesReceived.inc(data.length);
    let msg: Message;
    try {
      msg = this.heartbeats.decode(this.envelope.open(data));
    } catch (err) {
      const reason = err instanceof DecodeError ? err.reason : 'internal';
      this.c.metrics.decodeErrors.inc({ reason });
      if (this.decodeLog.allow(`${from.address}:${reason}`)) {
        this.c.logger.warn(
          { from: from.address, reason, detail: (err as Error).message },
          'dropped a datagram that could not be decoded',
        );
      }
      return;
    }
    if (msg.site !== this.cfg.site) return this.c.metrics.announcementsIgnored.inc({ reason: 'other-site' });
    this.onMessage(msg, from);
  }

  private onMessage(msg: Message, from: Endpoint, signalOverride?: string): void {
    if (msg.name === this.cfg.name) return this.onOwnName(msg, from);
    // Most datagrams of an idle site: each arrives alone and runs cold, so this path is kept short.
    const known = this.peers.get(msg.name);
    if (known !== undefined && msg === known.quiet && from.address === known.endpoint?.address) {
      const now = this.c.clock.monotonic();
      this.hot.heartbeats.inc();
      known.lastHeard = now;
      this.claims.heard(msg.name, msg.incarnation, known.claimKey!, now);
      this.c.directory.touch(msg.name);
      return;
    }
    const type = signalOverride ?? MESSAGE_TYPE_NAMES[msg.type];
    const received = this.hot.received.get(type);
    if (received) received.inc();
    else this.c.metrics.announcementsReceived.inc({ type });

    const now = this.c.clock.monotonic();
    const endpoint = { address: from.address, port: msg.peerPort };
    const peer = this.peer(msg.name, endpoint);
    peer.quiet = undefined;
    peer.claimKey = `${endpoint.address}:${endpoint.port}`;
    this.claims.heard(msg.name, msg.incarnation, peer.claimKey, now);
    const held = this.c.directory.held(msg.name)!;
    if (msg.incarnation < Math.max(held.incarnation, peer.target.incarnation)) {
      return this.c.metrics.announcementsIgnored.inc({ reason: 'old-incarnation' });
    }
    const newLife = msg.incarnation > held.incarnation;
    if (held.state === 'left' && !newLife) return this.c.metrics.announcementsIgnored.inc({ reason: 'after-goodbye' });

    peer.lastHeard = now;
    peer.endpoint = endpoint;
    if (newLife) this.c.directory.revive(msg.name);
    this.c.directory.touch(msg.name, endpoint.address, endpoint.port);

    if (msg.type === MessageType.goodbye) return this.leave(peer, 'goodbye');
    if (msg.type === MessageType.solicit) this.replyToSolicit();

    let signal =
      msg.type === MessageType.heartbeat ? 'heartbeat' : msg.type === MessageType.solicit ? 'solicit' : 'version-only';
    if (msg.delta) {
      const result = this.c.directory.applyDeltas(msg.name, msg.incarnation, [msg.delta]);
      if (result === 'applied') {
        this.applyEarly(peer);
        this.noteRecent(msg.name);
      } else if (result === 'stale') this.c.metrics.announcementsIgnored.inc({ reason: 'held' });
      else if (msg.incarnation === held.incarnation && peer.early.size < 16) {
        // Overtaken by a later datagram, or lost: keep it, and give the missing one a moment to arrive.
        peer.early.set(msg.delta.version, msg.delta);
        if (peer.graceUntil === 0) peer.graceUntil = this.c.clock.monotonic() + this.cfg.reorderGraceMs;
      }
      signal = 'announce-gap';
    } else if (!this.newer(msg, held)) this.c.metrics.announcementsIgnored.inc({ reason: 'held' });
    if (newLife && !msg.delta) signal = 'new-incarnation';
    if (signalOverride) signal = signalOverride;
    this.want(peer, msg.incarnation, msg.version, signal);
    this.onRecent(msg.recent, endpoint);
    // Only heartbeats from the memo are frozen (mDNS observations never are): only they can repeat.
    if (msg.type === MessageType.heartbeat && msg.recent.length === 0 && Object.isFrozen(msg)) {
      const after = this.c.directory.held(msg.name);
      const settled =
        after !== undefined &&
        after.state === 'alive' &&
        after.incarnation === msg.incarnation &&
        after.version >= msg.version;
      if (settled && !peer.fetching && !peer.queued && peer.retry === undefined) peer.quiet = msg;
    }
  }

  private onOwnName(msg: Message, from: Endpoint): void {
    if (msg.incarnation === this.cfg.incarnation) return this.c.metrics.announcementsIgnored.inc({ reason: 'own' });
    // Another agent uses our name: both directories would flap between two device sets. Say so loudly.
    this.claims.heardOwnName(msg.incarnation, `${from.address}:${msg.peerPort}`);
  }

  /**
   * A goodbye is a change like any other: the agents that heard it repeat it (as a hint with version 0)
   * on their next heartbeats, so a host that lost both goodbye datagrams still learns it within a period.
   */
  private leave(peer: Peer, how: string): void {
    const held = this.c.directory.held(peer.name);
    if (!held || held.state === 'left') return;
    this.c.directory.markLeft(peer.name);
    peer.quiet = undefined;
    this.c.clock.clearTimeout(peer.retry);
    peer.retry = undefined;
    this.recent.set(peer.name, { incarnation: held.incarnation, version: LEFT, at: this.c.clock.monotonic() });
    this.c.logger.info({ agent: peer.name, how }, 'agent left');
  }

  private onRecent(recent: readonly RecentChange[], reporter: Endpoint): void {
    for (const r of recent) {
      const name = this.nameByHash.get(r.nameHash);
      if (!name || name === this.cfg.name) continue;
      const held = this.c.directory.held(name);
      const peer = this.peers.get(name);
      if (!held || !peer || held.incarnation === 0 || incarnationTag(held.incarnation) !== r.incarnationTag) continue;
      if (r.version === LEFT) {
        this.leave(peer, 'hint');
        continue;
      }
      if (r.version <= Math.max(held.version, peer.target.incarnation === held.incarnation ? peer.target.version : 0))
        continue;
      peer.alternates = [
        reporter,
        ...peer.alternates.filter((e) => e.address !== reporter.address || e.port !== reporter.port),
      ].slice(0, 3);
      // The origin's own announcement may be a few milliseconds behind the hint: give it that long.
      if (peer.graceUntil === 0) peer.graceUntil = this.c.clock.monotonic() + this.cfg.reorderGraceMs;
      this.want(peer, held.incarnation, r.version, 'digest');
    }
  }

  /** Applies buffered deltas that now follow on from the held version. */
  private applyEarly(peer: Peer): void {
    const held = this.c.directory.held(peer.name);
    if (!held) return;
    for (let next = peer.early.get(held.version + 1); next; next = peer.early.get(held.version + 1)) {
      peer.early.delete(next.version);
      if (this.c.directory.applyDeltas(peer.name, held.incarnation, [next]) !== 'applied') break;
      held.version = next.version;
    }
    for (const v of peer.early.keys()) if (v <= held.version) peer.early.delete(v);
    if (peer.early.size === 0) peer.graceUntil = 0;
  }

  private replyToSolicit(): void {
    if (this.solicitedReply) return;
    this.solicitedReply = true;
    this.scheduleHeartbeat(this.c.random() * this.cfg.solicitReplyWindowMs);
  }

  // ---- catch-up ---------------------------------------------------------------------------------

  private peer(name: string, endpoint: Endpoint): Peer {
    let peer = this.peers.get(name);
    if (!peer) {
      peer = {
        name,
        endpoint,
        target: { incarnation: 0, version: 0 },
        alternates: [],
        fetching: false,
        queued: false,
        failures: 0,
        lastHeard: this.c.clock.monotonic(),
        probing: false,
        probedAt: 0,
        probes: 0,
        early: new Map(),
        graceUntil: 0,
      };
      this.peers.set(name, peer);
      this.nameByHash.set(fnv1a32(name), name);
      this.c.directory.ensureOrigin(name, { address: endpoint.address, peerPort: endpoint.port });
      this.c.logger.info({ agent: name, address: endpoint.address }, 'agent discovered');
    }
    return peer;
  }

  private newer(a: { incarnation: number; version: number }, b: { incarnation: number; version: number }): boolean {
    return a.incarnation > b.incarnation || (a.incarnation === b.incarnation && a.version > b.version);
  }

  private behind(peer: Peer): boolean {
    const held = this.c.directory.held(peer.name);
    return !!held && held.state !== 'left' && this.newer(peer.target, held);
  }

  /** Notes that (incarnation, version) exists; starts a catch-up if the directory does not hold it. */
  private want(peer: Peer, incarnation: number, version: number, signal: string): void {
    if (this.newer({ incarnation, version }, peer.target)) peer.target = { incarnation, version };
    if (!this.behind(peer) || peer.fetching || peer.queued || peer.retry) return;
    const wait = peer.graceUntil - this.c.clock.monotonic();
    if (wait > 0) {
      peer.retry = this.c.clock.setTimeout(() => {
        peer.retry = undefined;
        peer.graceUntil = 0;
        if (this.running && this.behind(peer) && !peer.fetching && !peer.queued) {
          this.c.metrics.gapsDetected.inc({ signal });
          this.enqueue(peer);
        }
      }, wait);
      return;
    }
    this.c.metrics.gapsDetected.inc({ signal });
    this.enqueue(peer);
  }

  private enqueue(peer: Peer): void {
    if (!this.fetchBudget.take(peer.name)) {
      this.c.metrics.invalidInput.inc({ source: 'sync', reason: 'catchup-rate-limited' });
      const wait = this.fetchBudget.waitMs(peer.name);
      peer.retry = this.c.clock.setTimeout(() => {
        peer.retry = undefined;
        if (this.running && this.behind(peer) && !peer.fetching && !peer.queued) this.enqueue(peer);
      }, wait);
      return;
    }
    if (this.active < this.cfg.fetchConcurrency) void this.fetch(peer);
    else {
      peer.queued = true;
      this.queue.push(peer.name);
    }
  }

  private async fetch(peer: Peer): Promise<void> {
    peer.fetching = true;
    this.active += 1;
    const held = this.c.directory.held(peer.name)!;
    const useAlternate = peer.failures > 0 && peer.alternates.length > 0 && peer.failures % 2 === 1;
    const source = useAlternate ? peer.alternates[(peer.failures >> 1) % peer.alternates.length] : peer.endpoint!;
    const fromOrigin = !useAlternate;
    const started = this.c.clock.monotonic();
    try {
      const changes = await this.c.peers.changes(
        source,
        { origin: peer.name, since: held.version, incarnation: held.incarnation },
        this.cfg.fetchTimeoutMs,
      );
      if (!this.running) return;
      if (!changes) throw new Error(`${source.address}:${source.port} holds nothing of ${peer.name}`);
      const result =
        changes.kind === 'deltas'
          ? this.c.directory.applyDeltas(peer.name, changes.incarnation, changes.deltas)
          : this.c.directory.applySnapshot(peer.name, changes.incarnation, changes.version, changes.entries);
      // A snapshot for a peer that held nothing is the normal way in; for one that held a version it is a fallback.
      if (changes.kind === 'snapshot' && held.version > 0) this.c.metrics.snapshotFallbacks.inc();
      this.applyEarly(peer);
      if (result === 'gap')
        throw new Error(`answer from ${source.address}:${source.port} does not follow on from version ${held.version}`);
      if (result === 'applied') this.noteRecent(peer.name);
      // The origin is authoritative: what it holds now is the target, even below a hint we were given.
      if (fromOrigin) peer.target = { incarnation: changes.incarnation, version: changes.version };
      peer.failures = 0;
      this.c.metrics.catchupRequests.inc({ result: changes.kind });
      this.c.metrics.catchupSeconds.observe((this.c.clock.monotonic() - started) / 1000);
    } catch (err) {
      if (!this.running) return;
      peer.failures += 1;
      this.c.metrics.catchupRequests.inc({ result: 'failed' });
      const level = peer.failures === 3 ? 'warn' : 'debug';
      this.c.logger[level](
        {
          agent: peer.name,
          from: `${source.address}:${source.port}`,
          failures: peer.failures,
          err: (err as Error).message,
        },
        'catch-up failed; retrying',
      );
    } finally {
      peer.fetching = false;
      this.active -= 1;
      if (this.running) {
        this.drainQueue();
        if (this.behind(peer)) this.retryLater(peer);
      }
    }
  }

  private retryLater(peer: Peer): void {
    if (peer.retry || peer.queued) return;
    // Right away after a success that fell short (a newer version arrived meanwhile); backoff after failures.
    const delay = peer.failures === 0 ? 0 : jitter(this.c.random, Math.min(100 * 2 ** (peer.failures - 1), 5000), 0.5);
    peer.retry = this.c.clock.setTimeout(() => {
      peer.retry = undefined;
      if (this.running && this.behind(peer) && !peer.fetching) this.enqueue(peer);
    }, delay);
  }

  private drainQueue(): void {
    while (this.active < this.cfg.fetchConcurrency && this.queue.length > 0) {
      const peer = this.peers.get(this.queue.shift()!);
      if (!peer) continue;
      peer.queued = false;
      if (this.behind(peer) && !peer.fetching) void this.fetch(peer);
    }
  }

  // ---- liveness ---------------------------------------------------------------------------------

  private scheduleSweep(): void {
    this.sweepTimer = this.c.clock.setTimeout(() => {
      if (!this.running) return;
      this.sweep();
      this.scheduleSweep();
    }, this.cfg.livenessPeriodMs / 2); // twice a period: lost within 3.5 to 4 periods, few wakeups
    this.sweepTimer.unref?.();
  }

  private sweep(): void {
    const now = this.c.clock.monotonic();
    const period = this.cfg.livenessPeriodMs;
    for (const peer of this.peers.values()) {
      const held = this.c.directory.held(peer.name);
      if (!held) continue;
      const silence = now - peer.lastHeard;
      if (held.state === 'alive') {
        if (silence >= this.cfg.lostAfterPeriods * period) this.lose(peer, `not heard for ${Math.round(silence)} ms`);
        else if (silence >= this.cfg.probeAfterPeriods * period && !peer.probing && now - peer.probedAt >= period)
          void this.probe(peer);
      } else if (silence >= this.cfg.forgetAfterMs) {
        this.c.directory.forget(peer.name);
        this.claims.forget(peer.name);
        this.peers.delete(peer.name);
        this.nameByHash.delete(fnv1a32(peer.name));
        this.recent.delete(peer.name);
      }
    }
    this.claims.sweep();
  }

  /**
   * Heartbeats can all be lost for a while under heavy loss; before declaring a peer lost, ask it over
   * TCP. A refused connection means the process is gone: lost now, not a period later.
   */
  private async probe(peer: Peer): Promise<void> {
    if (!peer.endpoint) return;
    peer.probing = true;
    peer.probedAt = this.c.clock.monotonic();
    try {
      // The peer's summary of the agents it knows rides on the first probe and every fourth after.
      const withPeers = peer.probes++ % 4 === 0;
      const hello = await this.c.peers.hello(peer.endpoint, this.cfg.heartbeatMs, withPeers);
      const held = this.c.directory.held(peer.name);
      if (!this.running || !held || hello.name !== peer.name || hello.incarnation < held.incarnation)
        throw new Error('another agent answered');
      this.c.metrics.livenessProbes.inc({ result: 'alive' });
      peer.lastHeard = this.c.clock.monotonic();
      this.c.directory.touch(peer.name);
      this.want(peer, hello.incarnation, hello.version, 'probe');
      this.learn(hello.peers ?? []);
    } catch (err) {
      if (!this.running) return;
      this.c.metrics.livenessProbes.inc({ result: 'failed' });
      if (/refused|ECONNREFUSED/i.test((err as Error).message))
        this.lose(peer, 'its peer endpoint refuses connections');
    } finally {
      peer.probing = false;
    }
  }

  /**
   * What a probed peer knows of others: second-hand, so it neither refreshes liveness nor revives, but
   * it names agents this one never heard (every mDNS packet about them lost) and versions it missed.
   */
  private learn(
    summaries: readonly { name: string; incarnation: number; version: number; address: string; port: number }[],
  ): void {
    for (const s of summaries) {
      if (s.name === this.cfg.name) continue;
      const known = this.peers.get(s.name);
      const held = this.c.directory.held(s.name);
      if (known && held && (held.state !== 'alive' || s.incarnation < held.incarnation)) continue;
      const peer = known ?? this.peer(s.name, { address: s.address, port: s.port });
      this.want(peer, s.incarnation, s.version, 'summary');
    }
  }

  private lose(peer: Peer, why: string): void {
    const held = this.c.directory.held(peer.name);
    if (held?.state !== 'alive') return;
    peer.quiet = undefined; // its next heartbeat takes the whole path: a return is looked at afresh
    this.c.directory.markLost(peer.name);
    this.c.logger.warn({ agent: peer.name, why }, 'agent lost');
  }
}
