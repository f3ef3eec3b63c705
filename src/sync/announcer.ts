import type { Delta } from '../directory/delta.js';
import { encodeMessage, intervalBytes, MAX_HINTS } from '../protocol/codec.js';
import type { Envelope } from '../protocol/envelope.js';
import {
  fnv1a32,
  incarnationTag,
  MESSAGE_TYPE_NAMES,
  MessageType,
  type Hint,
  type Message,
} from '../protocol/messages.js';
import type { DatagramKind, Endpoint } from '../transport/transport.js';
import type { TimerHandle } from '../util/clock.js';
import { jitter } from '../util/random.js';
import { beatOf } from './beat.js';
import { EndpointProofs, PROOF_SIGNAL, roundEndpoint } from './endpoint-proofs.js';
import { HeartbeatInterval } from './heartbeat-interval.js';
import type { Liveness } from './liveness.js';
import { NoticeBatch } from './notice-batch.js';
import { NoticeRelay, subjectEndpoints } from './notice-relay.js';
import { aliveRing } from './ring.js';
import type { SyncContext } from './sync-context.js';

/**
 * Agents that answer a newcomer's solicit on a site large enough for scaled heartbeats, on average: each
 * answers with probability SOLICIT_ANSWERS / members (RFC 6762 §6's random delay, with suppression by
 * chance rather than by listening). The newcomer learns the rest from one peer's summary.
 */
export const SOLICIT_ANSWERS = 8;

/**
 * What this agent says on the LAN: announcements, heartbeats (with hints), solicits, goodbyes, lost
 * notices; and, once the site's size stretches its multicast interval past the liveness period, a
 * unicast heartbeat each period to its monitors on the ring (docs/protocol.md, "Scale").
 */
export class Announcer {
  readonly interval: HeartbeatInterval;
  private timer: TimerHandle | undefined;
  private livenessTimer: TimerHandle | undefined;
  private solicitedReply = false;
  /** When the current multicast cycle began, its wait's random factor, and when its timer fires. */
  private cycle = { start: 0, factor: 1, due: 0 };
  /** Whether a stretched wait was drawn yet in this life (the first is drawn differently: `newCycle`). */
  private phased = false;
  /** When this life's announcement went: a reply in its first interval is a cold start's (newCycle). */
  private startedAt = 0;
  private refutedAt = -Infinity;
  /** When this agent last multicast a heartbeat or an announcement: its monitors heard it then too. */
  private multicastAt = -Infinity;
  private readonly notices: NoticeBatch;
  /** Losses taken from a notice, told to the ring neighbours (notice-relay.ts). */
  readonly relays: NoticeRelay;
  /** Which monitors rounds reach, and the proofs asked of those never heard. */
  private readonly proofs: EndpointProofs;
  /** This agent's view digest, named by its multicast heartbeats on a stretched site (view-votes.ts). */
  private readonly view: () => number;

  constructor(
    private readonly s: SyncContext,
    private readonly envelope: Envelope,
    /** A keyed site's monitors hear beats (beat.ts) instead of whole heartbeats. */
    private readonly keyed: boolean,
    /** Asks a monitor never heard where its datagrams leave from (endpoint-proofs.ts). */
    liveness: Pick<Liveness, 'probe' | 'rejoin'>,
  ) {
    this.view = () => liveness.rejoin.votes.own();
    this.proofs = new EndpointProofs(s, (peer) => liveness.probe(peer, peer.endpoint, PROOF_SIGNAL));
    this.interval = new HeartbeatInterval(s.cfg.heartbeatMs, s.cfg.heartbeatScaling, s.cfg.heartbeatBudget);
    this.notices = new NoticeBatch(s.c.clock, s.cfg.livenessPeriodMs, (hints) => {
      if (s.running()) this.send(MessageType.notice, { hints });
    });
    this.relays = new NoticeRelay(s, (hints, to) => this.send(MessageType.notice, { hints, to }));
  }

  /** Tells the site who we are (with our whole set when it fits), then asks peers to say who they are. */
  start(): void {
    const first = this.s.c.directory.changesSince(this.s.cfg.name, this.s.cfg.incarnation, 0);
    const delta = first?.kind === 'deltas' && first.deltas.length === 1 ? first.deltas[0] : undefined;
    this.send(MessageType.announce, { delta });
    this.send(MessageType.solicit);
    this.startedAt = this.s.c.clock.monotonic();
    this.newCycle();
    this.scheduleLiveness();
    this.repeatIntroduction();
  }

  /**
   * On a large site the next heartbeat is tens of seconds away, and an agent that lost both the
   * announcement and the solicit would not know this one until then (hints name only known agents). So
   * one more heartbeat follows after 1–2 liveness periods, spread by the name's hash rather than a random
   * draw (a small site's timers and draws stay exactly as they were), and sent only if the site is large.
   */
  private repeatIntroduction(): void {
    const delay = this.s.cfg.livenessPeriodMs * (1 + (fnv1a32(this.s.cfg.name) % 1000) / 1000);
    const timer = this.s.c.clock.setTimeout(() => {
      if (this.s.running() && this.interval.scaled(this.members())) this.send(MessageType.heartbeat);
    }, delay);
    timer.unref?.();
  }

  /** A goodbye, twice, as it cannot be repaired later. */
  stop(goodbye: boolean): void {
    this.s.c.clock.clearTimeout(this.timer);
    this.s.c.clock.clearTimeout(this.livenessTimer);
    this.notices.stop();
    this.relays.stop();
    if (!goodbye) return;
    this.send(MessageType.goodbye);
    this.send(MessageType.goodbye);
  }

  announce(delta: Delta): void {
    this.send(MessageType.announce, { delta });
    // An announcement says all a heartbeat says: the next heartbeat is a whole interval away.
    this.newCycle();
  }

  /** A newcomer asked: answer within a short random window, once, so replies do not collide. */
  replyToSolicit(): void {
    if (this.solicitedReply) return;
    const members = this.members();
    if (this.interval.scaled(members) && this.s.c.random() * members >= SOLICIT_ANSWERS) return;
    this.solicitedReply = true;
    this.schedule(this.s.c.random() * this.s.cfg.solicitReplyWindowMs);
  }

  /** A notice said this agent is lost: a heartbeat at once says otherwise (at most once a period). */
  refute(): void {
    const now = this.s.c.clock.monotonic();
    if (now - this.refutedAt < this.s.cfg.livenessPeriodMs) return;
    this.refutedAt = now;
    this.send(MessageType.heartbeat);
    this.newCycle();
  }

  /** Tells the site that this agent's own check found `name` (in that life) gone: soon, at most once a period. */
  notice(name: string, incarnation: number, version: number, gather = true): void {
    this.notices.add({ nameHash: fnv1a32(name), incarnationTag: incarnationTag(incarnation), version }, gather);
  }

  /**
   * This agent's own mean multicast interval while the site's size stretches it; undefined on a small site.
   * With `members` given (Membership.held), the interval of a site of that many: what judges a silence.
   */
  stretchedMs(members = this.members()): number | undefined {
    return this.interval.scaled(members) ? this.interval.meanMs(members) : undefined;
  }

  /** Agents alive on the site as this agent sees it, itself included: RTCP's `members` (see isMember). */
  members(): number {
    return this.s.members.count();
  }

  private send(type: MessageType, opts: { delta?: Delta; hints?: Hint[]; to?: Endpoint } = {}): void {
    const transport = this.s.c.transport;
    if (!transport) return;
    const members = this.members();
    const multicastHints = type === MessageType.heartbeat || type === MessageType.announce;
    const msg: Message = {
      type,
      site: this.s.cfg.site,
      name: this.s.cfg.name,
      incarnation: this.s.cfg.incarnation,
      version: this.s.c.local.currentVersion,
      peerPort: this.s.cfg.peerPort,
      hints: opts.hints ?? (multicastHints && !opts.to ? this.s.hints.list() : []),
    };
    if (this.interval.scaled(members)) msg.intervalMs = this.interval.meanMs(members);
    if (msg.intervalMs !== undefined && type === MessageType.heartbeat && !opts.to) msg.view = this.view();
    if (opts.delta) msg.delta = opts.delta;
    const { bytes } = encodeMessage(msg, { reserve: this.envelope.overhead });
    const sealed = this.envelope.seal(bytes);
    if (opts.to) transport.sendTo(sealed, opts.to);
    else transport.send(sealed);
    if (multicastHints && !opts.to) this.multicastAt = this.s.c.clock.monotonic();
    if (type === MessageType.heartbeat && !opts.to) this.interval.sized(intervalBytes(msg, sealed.length));
    this.counted(type, opts.to ? 'unicast' : 'multicast', sealed.length);
  }

  /** A unicast notice is a relay (notice-relay.ts), counted apart: `notice` counts what the whole site hears. */
  private counted(type: MessageType, kind: DatagramKind, bytes: number): void {
    const relay = type === MessageType.notice && kind === 'unicast';
    this.s.c.metrics.announcementsSent.inc({ type: relay ? 'relay' : MESSAGE_TYPE_NAMES[type] });
    this.s.c.metrics.datagramsSent.inc({ kind });
    this.s.c.metrics.datagramBytesSent.inc({ kind }, bytes);
  }

  /**
   * A heartbeat (or announcement) just went out: the next is one interval away, drawn afresh. `replied`: it answered
   * a solicit, as the other repliers did at the same moment (each newcomer of a cold start draws a few), drawn then
   * like the first stretched wait.
   */
  private newCycle(replied = false): void {
    const members = this.members();
    const now = this.s.c.clock.monotonic();
    if (!this.interval.scaled(members)) {
      this.cycle = { start: now, factor: 1, due: 0 };
      return this.schedule(jitter(this.s.c.random, this.s.cfg.heartbeatMs, 0.2));
    }
    // The first stretched wait falls anywhere in one interval (0–1, not 0.5–1.5): agents that started
    // together would otherwise all be silent for half an interval (27 s at 1,000 agents), and a change
    // missed then is hinted by nobody. Drawn uniformly, the site's heartbeats flow at their steady rate at once.
    // The same after a solicit's reply: at the end of a cold start every agent's last multicast answered one of the
    // last starters, and drawn 0.5-1.5 from there the whole site fell silent for half an interval (liar22).
    // Only in this agent's first interval: later, each answer drawn 0-1 brought the agent's next heartbeat forward by
    // half an interval, and a forger's solicits (unsigned) cost 8.2 multicasts each, not 4.0 (solicit-forged-cycle).
    const coldReply = replied && now - this.startedAt < this.interval.meanMs(members);
    const factor = this.phased && !coldReply ? this.interval.factor(this.s.c.random, members) : this.s.c.random();
    this.phased = true;
    this.cycle = { start: now, factor, due: 0 };
    this.schedule(this.interval.meanMs(members) * this.cycle.factor);
  }

  private schedule(delay: number): void {
    this.s.c.clock.clearTimeout(this.timer);
    this.cycle.due = this.s.c.clock.monotonic() + delay;
    this.timer = this.s.c.clock.setTimeout(() => {
      if (!this.s.running()) return;
      // RTCP's forward reconsideration (RFC 3550 §6.3.6): the site grew since the wait was drawn.
      const members = this.members();
      const due = this.cycle.start + this.interval.meanMs(members) * this.cycle.factor;
      const now = this.s.c.clock.monotonic();
      if (!this.solicitedReply && this.interval.scaled(members) && due > now + 1) return this.schedule(due - now);
      const replied = this.solicitedReply;
      this.solicitedReply = false;
      this.send(MessageType.heartbeat);
      this.newCycle(replied);
    }, delay);
    this.timer.unref?.();
  }

  /**
   * Each liveness period: the unicast heartbeat to this agent's monitors when the multicast interval is
   * longer than the period, and RTCP's reverse reconsideration (§6.3.4): a site that shrank (agents lost
   * or gone) brings a wait drawn for the larger site forward. No random draw: a small site's heartbeats
   * happen exactly as without this timer.
   */
  private scheduleLiveness(): void {
    this.livenessTimer = this.s.c.clock.setTimeout(() => {
      if (!this.s.running()) return;
      const members = this.members();
      const mean = this.interval.meanMs(members);
      if (mean > this.s.cfg.livenessPeriodMs) this.heartbeatMonitors();
      const now = this.s.c.clock.monotonic();
      const due = this.cycle.start + mean * (this.interval.scaled(members) ? this.cycle.factor : 1.2);
      if (!this.solicitedReply && due + 1 < this.cycle.due) this.schedule(Math.max(0, due - now));
      this.scheduleLiveness();
    }, this.s.cfg.livenessPeriodMs);
    this.livenessTimer.unref?.();
  }

  /**
   * Skipped when a multicast heartbeat or announcement went out within the last period: the monitors
   * heard that (any datagram counts as heard), so the longest normal silence they see grows from one
   * period to under two, still short of the probe at 2.5. At 50 agents (interval ~2.7 s) this drops about
   * a third of the unicast rounds. Not while a ring carry is owed: the multicast carried the newest hints, not
   * the round's (at 50 agents 40 % of a burst's rounds were skipped so; 3.5-4 % at 200: miss13).
   */
  private heartbeatMonitors(): void {
    const heard = this.s.c.clock.monotonic() - this.multicastAt < this.s.cfg.livenessPeriodMs;
    if (heard && !this.s.hints.owes()) return;
    const ring = aliveRing(this.s);
    const peers = ring
      .monitorsOf(this.s.cfg.name)
      .flatMap((name) => this.s.peers.get(name) ?? [])
      .filter((p) => this.proofs.reaches(p));
    if (peers.length === 0) return;
    for (const p of peers) p.roundsSent = (p.roundsSent ?? 0) + 1;
    const monitors = peers.flatMap((p) => roundEndpoint(p) ?? []);
    // A fresh change's round goes to the subjects too (hints.ts, BOTH_WAYS_CARRIES): where their datagrams were
    // heard from, never asked for (a subject it cannot reach hears it from its other neighbours). Its first
    // datagram only, where the least recently carried ride: a burst's round is 2 datagrams more, not 6. Only on a
    // site past 50 agents, whose budget is shrunk: up to 50 the multicast's ~20 heartbeats a second hint a change.
    const fresh = this.interval.shrunk(this.members()) && this.s.hints.fresh();
    const both = fresh ? [...monitors, ...subjectEndpoints(this.s, ring)] : monitors;
    // The ring's hints: a host that missed an announcement hears of it from its 2 subjects whatever the site's
    // multicast rate (docs/protocol.md, "Scale").
    // A burst's carries beyond 8 ride further datagrams of the same round (hints.ts, ROUND_DATAGRAMS).
    for (const [i, hints] of datagramsOf(this.s.hints.forRound()).entries()) {
      const targets = i === 0 ? both : monitors;
      if (!this.keyed) {
        for (const to of targets) this.send(MessageType.heartbeat, { to, hints });
        continue;
      }
      const transport = this.s.c.transport;
      const sealed = this.envelope.seal(beatOf(this.s, this.s.c.local.currentVersion, hints));
      for (const to of targets) {
        transport?.sendTo(sealed, to);
        this.counted(MessageType.beat, 'unicast', sealed.length);
      }
    }
  }
}

/** A round's hints, MAX_HINTS a datagram: one datagram, empty or not, when 8 or fewer are owed. */
function datagramsOf(hints: Hint[]): Hint[][] {
  const out = [hints.slice(0, MAX_HINTS)];
  for (let i = MAX_HINTS; i < hints.length; i += MAX_HINTS) out.push(hints.slice(i, i + MAX_HINTS));
  return out;
}
