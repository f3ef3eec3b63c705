import { PeerRequestError, type Endpoint, type PeerSummary } from '../transport/transport.js';
import type { TimerHandle } from '../util/clock.js';
import { failureReason } from './catchup-failure.js';
import { sameEndpoint, type Peer } from './peer-table.js';
import { IndirectChecks } from './indirect-checks.js';
import { LocalHealth } from './local-health.js';
import { answeredElsewhere, askerOf, moveTo, probedOrElsewhere } from './endpoint-proofs.js';
import { Rejoin } from './rejoin.js';
import { SilentChecks } from './silent-checks.js';
import type { LivenessHooks, ProbeOutcome, UnansweredProbe } from './liveness-hooks.js';
import { askSummary } from './summary-asks.js';
import { Sweep } from './sweep.js';
import type { SyncContext } from './sync-context.js';

export { BACKSTOP_INTERVALS, FORMER_SUBJECTS } from './sweep.js';

/**
 * One probe in this many asks for the peer's summary (~90 B an agent), besides the join probe and an explicit
 * ask, on a small site only (interval = period): on a stretched one a monitor's liveness probes asked an 86 kB
 * summary at 1,000 agents (1.1 kB/s received in an idle minute); missed changes come by the ring's hints there.
 */
export const SUMMARY_EVERY_PROBES = 16;

/**
 * Checks of silent peers under way at once while local health is not 0 (memberlist: one probe an interval,
 * scaled by the score); on time, none. A loaded 200-agent cold start had 220k probes out, nearly all `lagged`.
 */
export const LATE_CHECKS = 4;

/** The deadline of the probe that confirms a silent peer gone, in liveness periods (the first has one). */
export const CONFIRM_DEADLINE_PERIODS = 2;

/**
 * Who is alive: the sweep (silence grows to a probe; two unanswered probes make `lost`), direct probes over
 * TCP (a refused connection is a crash, decided on the transport's typed reason), lost peers probed again,
 * what a probed peer knows of others (learn), and address moves, believed once a probe confirms them.
 */
export class Liveness {
  private timer: TimerHandle | undefined;
  private readonly sweep: Sweep;
  /** Checks of silent peers (silent-checks.ts). */
  readonly checks: SilentChecks;
  /** This agent's own health as a prober: stretches its deadlines, and explains its own late timeouts. */
  readonly health: LocalHealth;
  /** Probes through ring neighbours, for a monitor whose own timeouts are not evidence (and for others). */
  readonly indirect: IndirectChecks;
  readonly rejoin: Rejoin; // after a cut-off: a neighbour's view, and the peers it no longer holds checked
  readonly answeredElsewhere = (peer: Peer) => answeredElsewhere(peer, (p, at) => this.probe(p, at));

  constructor(
    private readonly s: SyncContext,
    private readonly hooks: LivenessHooks,
  ) {
    this.health = new LocalHealth(s.c.clock, s.cfg.livenessPeriodMs);
    this.checks = new SilentChecks(s, hooks, this);
    s.c.metrics.localHealth.read = () => this.health.score();
    this.indirect = new IndirectChecks(s, {
      probe: (subject) => this.probe(subject, subject.endpoint, 'check'),
      onTime: () => this.health.trusted(),
      gone: (subject, helper) => this.checks.goneIndirectly(subject, helper),
    });
    this.sweep = new Sweep(s, {
      check: (peer) => void this.checks.check(peer),
      probe: (peer, endpoint) => void probedOrElsewhere(peer, endpoint, (p, at) => this.probe(p, at)),
      forget: (peer) => hooks.forget(peer),
      checkRoom: () => this.checks.underWay < LATE_CHECKS || this.health.score() === 0,
      onTime: () => this.health.score() === 0,
    });
    this.rejoin = new Rejoin(
      s,
      { check: (peer: Peer) => void this.checks.check(peer), learn: this.learnOf },
      this.health,
    );
  }

  start(): void {
    const due = this.s.c.clock.monotonic() + this.s.cfg.livenessPeriodMs / 2;
    this.timer = this.s.c.clock.setTimeout(() => {
      this.health.timerFired(due);
      if (!this.s.running()) return;
      this.hooks.admitWaiting();
      this.sweep.tick();
      this.start();
      // How long the next turn of the loop takes: the tick, re-armed each turn, fired 12 ms late in turns of
      // 512 ms and saw nothing, while each probe's three turns outlasted its deadline (swarm seed 13004103).
      const next = this.s.c.clock.monotonic() + 1;
      this.s.c.clock.setTimeout(() => this.health.timerFired(next), 1).unref?.();
    }, this.s.cfg.livenessPeriodMs / 2); // twice a period: few wakeups
    this.timer.unref?.();
  }

  stop(): void {
    this.s.c.clock.clearTimeout(this.timer);
  }

  /** A distrusted reporter (its name may be forged) named the peer lost: no probe, silence judged sooner a while. */
  noticed(peer: Peer): void {
    peer.noticedAt = this.s.c.clock.monotonic();
    this.sweep.mark(peer);
  }

  /** This agent now holds the unverified peer's devices from a member's answer: its endpoint is to be asked. */
  heldSecondHand(peer: Peer): void {
    this.sweep.mark(peer);
  }

  /** The peer was heard now, at its believed endpoint. */
  heard(peer: Peer): void {
    const reset = peer.verified && peer.probeFailures > 0;
    peer.lastHeard = this.s.c.clock.monotonic();
    if (peer.verified) peer.probeFailures = 0; // an unsigned datagram is no answer: a made-up name's backoff stays
    this.sweep.heard(peer, reset);
    const held = this.s.c.directory.held(peer.name);
    this.s.c.directory.touch(peer.name, peer.endpoint.address, peer.endpoint.port);
    this.rejoin.heard(peer, held?.state === 'lost' && held.incarnation === peer.replica.incarnation);
  }

  /** Asks the agent at `endpoint` who it is, in `periods` liveness periods stretched (LocalHealth.stretch, `since`):
   * a refused connection means the process is gone; no answer in time is left to the caller to weigh. */
  async probe(peer: Peer, endpoint: Endpoint, signal = 'probe', periods = 1, since?: number): Promise<ProbeOutcome> {
    if (peer.probing) {
      if (signal === 'join') askSummary(this.s, peer, this.learnOf); // the probe under way may not carry one
      if (!sameEndpoint(endpoint, peer.endpoint)) peer.elsewhere = endpoint; // checkOnce asks there before a loss
      return 'busy';
    }
    peer.probing = true;
    const [atEndpoint, life] = [sameEndpoint(endpoint, peer.endpoint), peer.replica]; // life: see hooks.answered
    const heldAlive = atEndpoint && this.s.c.directory.held(peer.name)?.state === 'alive';
    if (atEndpoint) peer.probedAt = this.s.c.clock.monotonic(); // not elsewhere: a move said by mDNS (3004057)
    const deadline = this.health.stretch(periods * this.s.cfg.livenessPeriodMs, since);
    const started = this.s.c.clock.monotonic();
    try {
      const periodic = this.s.siteIntervalMs() === undefined && ++peer.probes % SUMMARY_EVERY_PROBES === 0;
      const withPeers = !this.s.c.transport || signal === 'join' || periodic;
      // Elsewhere, the answer may confirm a move: it names where its datagrams leave from now (endpoint-proofs.ts).
      const asker = atEndpoint ? askerOf(this.s, peer, signal) : { ...this.s.self, datagram: true };
      const hello = await this.s.c.peers.hello(endpoint, deadline, withPeers, asker);
      if (!this.s.running() || this.s.peers.get(peer.name) !== peer) return 'stale';
      if (atEndpoint && hello.name === peer.name && !this.hooks.answered(peer, life, hello.incarnation)) return 'stale';
      if (hello.name !== peer.name || hello.incarnation < peer.replica.incarnation)
        return this.answeredAsOther(peer, hello.name === peer.name, atEndpoint);
      this.s.c.metrics.livenessProbes.inc({ result: 'alive' });
      this.health.probed(true, heldAlive);
      this.rejoin.answered(peer, started); // before it is heard: an answer is no revival
      if (!peer.verified) queueMicrotask(() => this.s.placeFreed());
      this.s.peers.verify(peer);
      if (!atEndpoint) moveTo(this.s, peer, endpoint);
      this.hooks.heardFrom(peer, hello, signal);
      this.learn(hello.peers ?? [], hello.name);
      return 'alive';
    } catch (err) {
      if (!this.s.running()) return 'stale';
      const timeout = err instanceof PeerRequestError && err.reason === 'timeout';
      // Its own late loop may have run the deadline before reading the answer: no evidence, asked again.
      if (timeout && this.health.timedOut(started + deadline, deadline)) {
        this.s.c.metrics.livenessProbes.inc({ result: 'lagged' });
        return 'lagged';
      }
      if (this.unanswered(peer, err, { timeout, held: heldAlive, at: atEndpoint, sent: started })) return 'heard';
      peer.probeFailures += 1;
      if (atEndpoint) this.s.unreachable(peer.name, timeout);
      if (atEndpoint && err instanceof PeerRequestError && err.reason === 'refused') {
        this.lose(peer, 'its peer endpoint refuses connections');
        return 'refused';
      }
      return 'no-answer';
    } finally {
      peer.probing = false;
      this.sweep.mark(peer); // a settled probe: its back-off, its state or its endpoint may have moved
    }
  }

  /** Another agent, or an older life of this one, answered the probe. */
  private answeredAsOther(peer: Peer, sameName: boolean, atEndpoint: boolean): ProbeOutcome {
    this.s.c.metrics.livenessProbes.inc({ result: 'other-agent' });
    peer.probeFailures += 1;
    if (!atEndpoint) return 'other-agent';
    this.s.unreachable(peer.name);
    // An older life of it is still it: an open site's forged datagram may have named a newer one.
    if (sameName) return 'old-life';
    // As good as a refusal: its endpoint is another agent's now (DHCP gave its address to another host,
    // a renamed restart). Silence no longer loses a peer, so without this it stayed alive forever.
    this.lose(peer, 'its peer endpoint answers as another agent');
    return 'other-agent';
  }

  /**
   * A probe went unanswered: counted, and for this agent's self-doubt (a timeout of a live peer, heard or not).
   * True if the peer was heard at its endpoint while it was out (a notice's refutation): it ran after the probe
   * was sent, so the timeout is its busy loop's or its accept queue's, no evidence it is gone (issue 18, cold12).
   * Else, at its endpoint (`at`), a cut-off for Rejoin, unless refused or timed out on its own late loop (Lifeguard).
   */
  private unanswered(peer: Peer, err: unknown, { timeout, held, at, sent }: UnansweredProbe): boolean {
    this.s.c.metrics.peerRequestFailures.inc({ route: 'hello', reason: failureReason(err) });
    this.health.probed(!timeout, held);
    const heard = timeout && at && peer.lastHeard > sent && (peer.verified || this.hooks.keyed);
    this.s.c.metrics.livenessProbes.inc({ result: heard ? 'heard' : 'failed' });
    const refused = err instanceof PeerRequestError && err.reason === 'refused';
    if (at && !heard && !refused) this.rejoin.unreachable(peer, !timeout || this.health.score() === 0);
    return heard;
  }

  /**
   * What a probed peer knows of others: second-hand, so it neither refreshes liveness nor revives, but
   * it names agents this one never heard (every mDNS packet about them lost) and versions it missed.
   */
  private learn(summaries: readonly PeerSummary[], from?: string): void {
    for (const s of summaries) if (s.name !== this.s.cfg.name) this.hooks.discover(s, from);
  }

  readonly learnOf = (summaries: readonly PeerSummary[], from?: string) => this.learn(summaries, from);
  lose(peer: Peer, why: string, onTimeouts = false): void {
    if (this.s.c.directory.held(peer.name)?.state !== 'alive') return;
    this.sweep.lost(peer, onTimeouts);
    peer.quiet = undefined; // its next heartbeat takes the whole path: a return is looked at afresh
    this.s.c.directory.markLost(peer.name);
    this.s.c.logger.warn({ agent: peer.name, why }, 'agent lost');
  }
}
