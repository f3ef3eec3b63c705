import { PeerRequestError, type Endpoint, type Hello, type PeerSummary } from '../transport/transport.js';
import type { TimerHandle } from '../util/clock.js';
import { SYNC_LIMITS } from './config.js';
import { sameEndpoint, type Peer } from './peer-table.js';
import { aliveRing, intervalOf, isMember, MONITORS, type Ring } from './ring.js';
import type { SyncContext } from './sync-context.js';

/** A stretched peer's silence is judged by non-monitors in periods of this many of its intervals. */
export const BACKSTOP_INTERVALS = 2;

/**
 * One probe in this many asks for the peer's summary (~90 B an agent), besides the join probe and an explicit
 * ask, on a small site only (interval = period): on a stretched one a monitor's liveness probes asked an 86 kB
 * summary at 1,000 agents (1.1 kB/s received in an idle minute); missed changes come by the ring's hints there.
 */
export const SUMMARY_EVERY_PROBES = 16;

/** The most lost agents one agent keeps probing again on a stretched site: twice its monitors' subjects. */
export const FORMER_SUBJECTS = 2 * MONITORS;

/** The deadline of the probe that confirms a silent peer gone, in liveness periods (the first has one). */
export const CONFIRM_DEADLINE_PERIODS = 2;

/**
 * What a probe found: an answer, a refusal (the process is gone), or no answer in time, which says
 * nothing on its own when this agent's event loop was late; `busy` when one was already under way.
 */
export type ProbeOutcome = 'alive' | 'refused' | 'no-answer' | 'other-agent' | 'old-life' | 'busy' | 'stale';

/** What liveness needs from the rest of the sync. */
export interface LivenessHooks {
  /** An answer at the peer's endpoint, to a probe asked in life `asked`: false if it predates a provisional one. */
  answered(peer: Peer, asked: Peer['replica'], incarnation: number): boolean;
  /** A verified answer named this life and version of the peer. */
  heardFrom(peer: Peer, hello: Hello, signal: string): void;
  /** A peer named in a summary: second-hand, so at most a reason to ask it. */
  discover(summary: PeerSummary): void;
  forget(peer: Peer): void;
  /** Agents that waited for a place among the unverified: tried again each sweep. */
  admitWaiting(): void;
  /** This agent's own check found a peer gone that others hear too rarely to notice soon: tell them. */
  noticeLost(peer: Peer): void;
  /** With the site's key a notice is believed, so it may only follow a confirmed loss. */
  readonly keyed: boolean;
}

/**
 * Who is alive: the sweep (silence grows to a probe; two unanswered probes make `lost`), direct probes over
 * TCP (a refused connection is a crash, decided on the transport's typed reason), lost peers probed again,
 * what a probed peer knows of others (learn), and address moves, believed once a probe confirms them.
 */
export class Liveness {
  private timer: TimerHandle | undefined;
  /** Since when this agent has been the monitor of each stretched subject it watches now (a handful). */
  private monitorSince = new Map<string, number>();
  /** Stretched agents this one was a monitor of when they were lost, newest last: the only ones it asks again. */
  private readonly formerSubjects = new Set<string>();

  constructor(
    private readonly s: SyncContext,
    private readonly hooks: LivenessHooks,
  ) {}

  start(): void {
    this.timer = this.s.c.clock.setTimeout(() => {
      if (!this.s.running()) return;
      this.sweep();
      this.start();
    }, this.s.cfg.livenessPeriodMs / 2); // twice a period: few wakeups
    this.timer.unref?.();
  }

  stop(): void {
    this.s.c.clock.clearTimeout(this.timer);
  }

  /** The peer was heard now, at its believed endpoint. */
  heard(peer: Peer): void {
    peer.lastHeard = this.s.c.clock.monotonic();
    if (peer.verified) peer.probeFailures = 0; // an unsigned datagram is no answer: a made-up name's backoff stays
    this.s.c.directory.touch(peer.name, peer.endpoint.address, peer.endpoint.port);
  }

  sweep(): void {
    this.hooks.admitWaiting();
    const now = this.s.c.clock.monotonic();
    const ring = this.ring();
    const monitorSince = new Map<string, number>();
    for (const peer of [...this.s.peers.values()]) {
      const state = this.s.c.directory.held(peer.name)?.state;
      const silence = now - peer.lastHeard;
      if (state === 'alive') {
        const period = this.periodOf(peer, ring);
        // A new monitor counts its subject's silence from when it became its monitor, not from a multicast
        // heard seconds ago: the subject's unicast heartbeats to it start only when its own ring moves too.
        let judged = silence;
        if (period < (intervalOf(this.s, peer) ?? 0)) {
          const since = this.monitorSince.get(peer.name) ?? now;
          monitorSince.set(peer.name, since);
          judged = Math.min(silence, now - since);
        }
        const gap = peer.verified ? this.s.cfg.livenessPeriodMs : this.reprobeMs(peer);
        if (judged >= this.s.cfg.probeAfterPeriods * period && now - peer.probedAt >= gap) void this.check(peer);
      } else if (silence >= (peer.verified ? this.s.cfg.forgetAfterMs : SYNC_LIMITS.forgetUnverifiedMs)) {
        this.hooks.forget(peer);
      } else if (state === 'lost' && now - peer.probedAt >= this.reprobeMs(peer) && this.asksAgain(peer)) {
        // Nothing else may ever say it is back (mDNS repeats nothing unchanged): ask it, a little less often.
        void this.probe(peer, peer.endpoint);
      }
    }
    this.monitorSince = monitorSince;
  }

  /**
   * A silent peer is asked; silence alone never loses it. A refusal does (the probe itself sees to it). A
   * probe that times out may only mean this agent's own event loop was late (a busy host, 200 agents in
   * one process): the answer sat unread while the deadline fired. So it is asked once more with twice
   * the deadline, and lost only if that one goes unanswered too. On an open site the notice goes out
   * after the first timeout: there it only asks the others to probe, with the longer deadline, so their
   * check runs beside this one's second probe instead of after it (the vanished-host time).
   */
  private async check(peer: Peer): Promise<void> {
    const first = await this.probe(peer, peer.endpoint);
    if (first === 'refused' || first === 'other-agent') return this.foundGone(peer);
    if (first !== 'no-answer') return;
    if (!this.hooks.keyed) this.noticeIfRare(peer);
    const second = await this.probe(peer, peer.endpoint, 'probe', CONFIRM_DEADLINE_PERIODS);
    // An open site's notice already went out after the first timeout.
    if (second === 'refused') return this.hooks.keyed ? this.foundGone(peer) : this.askAround(peer);
    if (second !== 'no-answer' || this.s.peers.get(peer.name) !== peer) return;
    this.lose(peer, 'two probes went unanswered, the second with twice the deadline');
    if (this.hooks.keyed) this.noticeIfRare(peer);
  }

  /**
   * This agent's own check found the peer's process gone: it tells the site (a notice, if the others hear
   * the peer rarely) and asks one peer where it may have restarted. Only here: when every agent that
   * probed the peer because of a notice also sent one, a crash drew 2 notices from each agent (118 at 60
   * agents, 1,000 multicasts heard by 500 each at 500: the simulator's livelock) and N summaries.
   */
  private foundGone(peer: Peer): void {
    this.noticeIfRare(peer);
    this.askAround(peer);
  }

  /**
   * The period a peer's silence is judged in. A peer whose multicast interval is longer than the liveness
   * period sends a unicast heartbeat each period to its monitors, which judge it as before; any other
   * agent hears it only every interval and counts on the monitors' notice to learn of a crash. Its own
   * judgement is the backstop, in periods of BACKSTOP_INTERVALS intervals: probed after 5 intervals of
   * silence, lost after 7. Shorter made every agent probe random hosts at 30 % loss (5 multicast
   * heartbeats in a row lost is 0.24 %; 3 was 2.7 %, 0.8 probes a second per agent at 60 agents): TCP
   * connections to hosts it otherwise never talks to, each a neighbour (ARP) entry.
   */
  private periodOf(peer: Peer, ring: Ring | undefined): number {
    const period = this.s.cfg.livenessPeriodMs;
    const interval = intervalOf(this.s, peer) ?? 0;
    return interval <= period || ring?.watches(this.s.cfg.name, peer.name) ? period : BACKSTOP_INTERVALS * interval;
  }

  /** The ring of alive members, when some peer's interval needs it (a small site never builds one). */
  private ring(): Ring | undefined {
    const period = this.s.cfg.livenessPeriodMs;
    for (const p of this.s.peers.values())
      if ((intervalOf(this.s, p) ?? 0) > period && isMember(this.s, p)) return aliveRing(this.s);
    return undefined;
  }

  /** A peer lost by this agent's own check, that the others hear only rarely: a notice tells them. */
  private noticeIfRare(peer: Peer): void {
    if ((intervalOf(this.s, peer) ?? 0) > this.s.cfg.livenessPeriodMs) this.hooks.noticeLost(peer);
  }

  /**
   * Whether this agent probes a lost peer again. A stretched one only if this agent was its monitor when
   * it was lost (at most FORMER_SUBJECTS of them): its stretched heartbeat announces its return to everyone
   * else. When every agent probed every lost one, 500 hosts of 1,000 powered off made each agent probe 500
   * dead hosts, each probe an ARP broadcast, churning the neighbour table the ring keeps small. With mDNS
   * alone, or a peer heard every period, nothing changes: nothing else may say it is back, or it is cheap.
   */
  private asksAgain(peer: Peer): boolean {
    if (!this.s.c.transport || (intervalOf(this.s, peer) ?? 0) <= this.s.cfg.livenessPeriodMs) return true;
    return this.formerSubjects.has(peer.name);
  }

  /** 2, then 4 periods between probes of a lost peer: a return is noticed within 40 s even with mDNS alone. */
  private reprobeMs(peer: Peer): number {
    const backoff = this.s.cfg.livenessPeriodMs * (peer.probeFailures > 1 ? 4 : 2);
    // On a large site every agent would probe every lost one every 4 s: one ARP broadcast each to a dead
    // host. Its stretched heartbeat says it is back anyway, so once per interval is enough.
    // One that never answered (a made-up name in unsigned datagrams at a third party's address, each of
    // which revived it) was asked twice per datagram by every agent: 2 s, doubling to a minute, instead.
    const never = peer.verified ? 0 : Math.min(1000 * 2 ** peer.probeFailures, SYNC_LIMITS.unverifiedRetryMaxMs);
    return Math.max(backoff, 1.5 * (intervalOf(this.s, peer) ?? 0), never);
  }

  /**
   * Asks the agent at `endpoint` who it is, within `periods` liveness periods. A refused connection
   * means the process is gone; no answer in time is left to the caller to weigh.
   */
  async probe(peer: Peer, endpoint: Endpoint, signal = 'probe', periods = 1): Promise<ProbeOutcome> {
    if (peer.probing) {
      if (signal === 'join') this.askSummary(peer); // the probe under way may not carry one
      return 'busy';
    }
    peer.probing = true;
    const [atEndpoint, life] = [sameEndpoint(endpoint, peer.endpoint), peer.replica]; // life: see hooks.answered
    // Probes elsewhere (a move said by mDNS, refused every 5 s) kept a dead peer's own endpoint unasked (3004057).
    if (atEndpoint) peer.probedAt = this.s.c.clock.monotonic();
    try {
      const periodic = this.s.siteIntervalMs() === undefined && ++peer.probes % SUMMARY_EVERY_PROBES === 0;
      const withPeers = !this.s.c.transport || signal === 'join' || periodic;
      const deadline = periods * this.s.cfg.livenessPeriodMs;
      const hello = await this.s.c.peers.hello(endpoint, deadline, withPeers, this.s.self);
      if (!this.s.running() || this.s.peers.get(peer.name) !== peer) return 'stale';
      if (atEndpoint && hello.name === peer.name && !this.hooks.answered(peer, life, hello.incarnation)) return 'stale';
      if (hello.name !== peer.name || hello.incarnation < peer.replica.incarnation) {
        this.s.c.metrics.livenessProbes.inc({ result: 'other-agent' });
        peer.probeFailures += 1;
        if (!atEndpoint) return 'other-agent';
        this.s.unreachable(peer.name);
        // An older life of it is still it: an open site's forged datagram may have named a newer one.
        if (hello.name === peer.name) return 'old-life';
        // As good as a refusal: its endpoint is another agent's now (DHCP gave its address to another host,
        // a renamed restart). Silence no longer loses a peer, so without this it stayed alive forever.
        this.lose(peer, 'its peer endpoint answers as another agent');
        return 'other-agent';
      }
      this.s.c.metrics.livenessProbes.inc({ result: 'alive' });
      if (!peer.verified) queueMicrotask(() => this.s.placeFreed());
      this.s.peers.verify(peer);
      if (!atEndpoint) this.move(peer, endpoint);
      this.hooks.heardFrom(peer, hello, signal);
      this.learn(hello.peers ?? []);
      return 'alive';
    } catch (err) {
      if (!this.s.running()) return 'stale';
      this.s.c.metrics.livenessProbes.inc({ result: 'failed' });
      peer.probeFailures += 1;
      if (atEndpoint) this.s.unreachable(peer.name);
      const refused = err instanceof PeerRequestError && err.reason === 'refused';
      if (refused && atEndpoint) {
        this.lose(peer, 'its peer endpoint refuses connections');
        return 'refused';
      }
      return 'no-answer';
    } finally {
      peer.probing = false;
    }
  }

  /**
   * Nothing listens where `gone` was: if it restarted elsewhere, the others may know where. One alive
   * peer is asked for its summary, whose news of `gone` is then checked first-hand (learn).
   */
  private askAround(gone: Peer): void {
    const alive = [...this.s.peers.values()].filter(
      (p) => p !== gone && p.verified && this.s.c.directory.held(p.name)?.state === 'alive',
    );
    if (alive.length === 0) return;
    this.askSummary(alive[Math.floor(this.s.c.random() * alive.length)]);
  }

  /** A hello that asks for the summary, outside the probes (it refreshes nothing: only learn). */
  private askSummary(other: Peer): void {
    this.s.c.peers.hello(other.endpoint, this.s.cfg.livenessPeriodMs, true, this.s.self).then(
      (hello) => {
        if (this.s.running() && hello.name === other.name) this.learn(hello.peers ?? []);
      },
      () => this.s.c.metrics.livenessProbes.inc({ result: 'failed' }),
    );
  }

  /** Another endpoint answered as this agent: it moved (a new address or port). */
  private move(peer: Peer, endpoint: Endpoint): void {
    this.s.c.logger.info({ agent: peer.name, from: peer.endpoint, to: endpoint }, 'agent moved');
    peer.endpoint = endpoint;
    peer.claimKey = `${endpoint.address}:${endpoint.port}`;
  }

  /**
   * What a probed peer knows of others: second-hand, so it neither refreshes liveness nor revives, but
   * it names agents this one never heard (every mDNS packet about them lost) and versions it missed.
   */
  private learn(summaries: readonly PeerSummary[]): void {
    for (const s of summaries) if (s.name !== this.s.cfg.name) this.hooks.discover(s);
  }

  lose(peer: Peer, why: string): void {
    if (this.s.c.directory.held(peer.name)?.state !== 'alive') return;
    this.formerSubjects.delete(peer.name);
    if (this.monitorSince.has(peer.name)) this.formerSubjects.add(peer.name);
    // Oldest first out: a bound on the dead hosts this agent keeps probing (each an ARP entry).
    for (const name of this.formerSubjects)
      if (this.formerSubjects.size > FORMER_SUBJECTS) this.formerSubjects.delete(name);
    peer.quiet = undefined; // its next heartbeat takes the whole path: a return is looked at afresh
    this.s.c.directory.markLost(peer.name);
    this.s.c.logger.warn({ agent: peer.name, why }, 'agent lost');
  }
}
