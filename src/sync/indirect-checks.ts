import type { Asker } from '../transport/transport.js';
import type { ProbeOutcome } from './liveness-hooks.js';
import type { Peer } from './peer-table.js';
import { aliveRing, intervalOf, MONITORS } from './ring.js';
import { SYNC_LIMITS } from './config.js';
import type { SyncContext } from './sync-context.js';

/** Agents a monitor that cannot trust its own timeout asks to probe its subject (SWIM's k, memberlist's 3). */
export const INDIRECT_HELPERS = 2;

/** A helper heard within this many periods is on time enough to ask (its answers arrive). */
const HELPER_HEARD_PERIODS = 2;

/** How long an ask waits for a helper's verdict, in liveness periods (its probe takes one). */
const VERDICT_WITHIN_PERIODS = 3;

/** An asker is served at most this many checks a period (a monitor watches MONITORS subjects). */
const SERVED_PER_PERIOD = MONITORS;

/** A check request (`check`) or a helper's verdict (`gone`), riding on a hello the asked agent answers at once. */
export type IndirectAsker = Asker & { address: string };

/** What the indirect checks need from liveness. */
export interface IndirectParts {
  /** A probe of the subject at its endpoint, one period (stretched by this agent's health). */
  probe(subject: Peer): Promise<ProbeOutcome>;
  /** This agent's own timeouts can be trusted: local health 0 and no self-doubt. */
  onTime(): boolean;
  /** A helper found the subject gone: the asking monitor tells the site (its early notice). */
  gone(subject: Peer, helper: string): void;
}

/**
 * Indirect probes (SWIM's ping-req, Lifeguard's answer to a slow prober): a monitor whose own loop is late
 * (local health > 0) cannot take its first timeout as evidence, and holding its notice back left the site
 * to each agent's own backstop (a vanished host lost in ~9.5 s, not ~6 s). It asks INDIRECT_HELPERS of its
 * ring neighbours heard lately to probe the subject beside its own first probe; an on-time helper whose
 * probe goes unanswered sends back a verdict (another hello), and the monitor sends its early notice on it:
 * the same evidence as an on-time monitor's first timeout. Receivers still probe before losing anyone.
 * Both messages ride on a hello (signed like any peer request on a keyed site), so each is answered at once
 * and the verdict comes back as a request of its own, not as a held-open answer.
 */
export class IndirectChecks {
  /** Subjects this agent asked about: the helpers asked, when, and until when a verdict is taken. */
  private readonly asks = new Map<string, { helpers: Set<string>; at: number; until: number }>();
  /** When each subject was last probed for another agent. */
  private readonly probedFor = new Map<string, number>();
  /** The probes for another agent still out, by subject (at most one each: probedFor spaces them). */
  private readonly outFor = new Map<string, Promise<ProbeOutcome>>();
  /** When this agent sent each verdict (kept VERDICT_WITHIN_PERIODS): the asker's notice of it comes next. */
  private readonly verdicts = new Map<string, number>();
  /** When each asker's recent checks were served, newest last (at most SERVED_PER_PERIOD within a period). */
  private readonly servedTo = new Map<string, number[]>();

  constructor(
    private readonly s: SyncContext,
    private readonly parts: IndirectParts,
  ) {}

  /** This monitor cannot trust its timeout of a stretched subject: asks helpers to probe it too. */
  ask(subject: Peer): void {
    const now = this.s.c.clock.monotonic();
    const period = this.s.cfg.livenessPeriodMs;
    if ((intervalOf(this.s, subject) ?? 0) <= period) return; // heard every period by all: no notice to send
    const open = this.asks.get(subject.name);
    if (open !== undefined && open.until > now) return;
    for (const [name, a] of this.asks) if (a.until <= now) this.asks.delete(name);
    const helpers = this.helpers(subject, now);
    if (helpers.length === 0) return;
    const until = now + VERDICT_WITHIN_PERIODS * period;
    this.asks.set(subject.name, { helpers: new Set(helpers.map((h) => h.name)), at: now, until });
    for (const h of helpers)
      this.s.c.peers.hello(h.endpoint, period, false, { ...this.s.self, check: subject.name }).catch(() => {});
  }

  /**
   * Its ring neighbours (the agents it already talks to over unicast: no new ARP entries), heard within
   * HELPER_HEARD_PERIODS, freshest first. The subject is never one; its other monitor may be (it declines
   * if it is late too).
   */
  private helpers(subject: Peer, now: number): Peer[] {
    const ring = aliveRing(this.s);
    const me = this.s.cfg.name;
    const names = new Set([...ring.subjectsOf(me), ...ring.monitorsOf(me)]);
    names.delete(subject.name);
    const heardSince = now - HELPER_HEARD_PERIODS * this.s.cfg.livenessPeriodMs;
    return [...names]
      .flatMap((n) => this.s.peers.get(n) ?? [])
      .filter((p) => p.verified && p.lastHeard >= heardSince && this.alive(p))
      .sort((a, b) => b.lastHeard - a.lastHeard)
      .slice(0, INDIRECT_HELPERS);
  }

  /** A hello carried a check request or a verdict. */
  asked(asker: IndirectAsker): void {
    if (asker.check !== undefined) this.check(asker, asker.check);
    else if (asker.gone !== undefined) this.verdict(asker, asker.gone);
  }

  /**
   * Probes the subject for the asker. Not an amplifier, nor a way to get a live agent lost: only a verified
   * member asking from its own address, a ring neighbour of this agent (attack test indirect-reach), only
   * about an alive agent this one holds that the asker watches
   * on this agent's ring (so at most its MONITORS monitors ask about one subject), each subject probed for
   * others once in VERDICT_WITHIN_PERIODS and each asker served SERVED_PER_PERIOD a period; one probe and at most one
   * verdict per request, the verdict only from a helper on time itself. A verdict makes no one lose the
   * subject: the asker's notice only makes the others probe it, as today.
   */
  private check(asker: IndirectAsker, subjectName: string): void {
    const from = this.member(asker);
    const subject = this.s.peers.get(subjectName);
    if (from === undefined || subject === undefined || subject === from || !this.alive(subject)) return;
    const ring = aliveRing(this.s);
    if (!ring.watches(from.name, subject.name) || !this.parts.onTime()) return;
    // Only a ring neighbour's, as the asker chooses its helpers: else one member made all N probe its subject.
    if (!ring.watches(from.name, this.s.cfg.name) && !ring.watches(this.s.cfg.name, from.name)) return;
    const now = this.s.c.clock.monotonic();
    const period = this.s.cfg.livenessPeriodMs;
    // Once per ask's time: a probe under way when the asker's notice comes would make its confirmation `busy`.
    if (now - (this.probedFor.get(subject.name) ?? -Infinity) < VERDICT_WITHIN_PERIODS * period) return;
    const served = (this.servedTo.get(from.name) ?? []).filter((at) => now - at < period);
    if (served.length >= SERVED_PER_PERIOD) return;
    this.servedTo.delete(from.name); // re-inserted: the map's order is the age of its last use
    this.servedTo.set(from.name, [...served, now]);
    this.probedFor.set(subject.name, now);
    this.bound(this.servedTo);
    this.bound(this.probedFor);
    const probe = this.parts.probe(subject);
    this.outFor.set(subject.name, probe);
    void probe.then((outcome) => {
      this.outFor.delete(subject.name);
      const gone = outcome === 'no-answer' || outcome === 'refused' || outcome === 'other-agent';
      // Silent to this agent as well: a datagram of it heard meanwhile is an answer, however late its probe's.
      const silent = subject.lastHeard <= now;
      if (!gone || !silent || !this.s.running() || !this.parts.onTime() || this.s.peers.get(from.name) !== from) return;
      this.verdicts.set(subject.name, this.s.c.clock.monotonic());
      this.bound(this.verdicts);
      this.s.c.peers.hello(from.endpoint, period, false, { ...this.s.self, gone: subject.name }).catch(() => {});
    });
  }

  /**
   * Whether this agent sent a verdict on the subject lately: the asker's notice, a moment later, then finds
   * its probe of the subject under a period old, and would be ignored (LostNotices) but for this; it is
   * followed like any monitor's notice, by the longer confirming probe.
   */
  vouched(subject: Peer): boolean {
    const at = this.verdicts.get(subject.name);
    return at !== undefined && this.s.c.clock.monotonic() - at < VERDICT_WITHIN_PERIODS * this.s.cfg.livenessPeriodMs;
  }

  /**
   * This agent's probe of the subject for another agent, while it is out. A notice heard meanwhile finds the subject
   * probed under a period ago, not yet vouched for: it was ignored, and this agent, its own probe for the asker
   * unanswered, waited for its backstop (notice-held-back, 800 ms stalls every 2 s: 6.9 s against 6.0, on main and
   * with challenge21 alike). LostNotices follows such a notice once this probe is over.
   */
  underway(subject: Peer): Promise<ProbeOutcome> | undefined {
    return this.outFor.get(subject.name);
  }

  /** A helper's verdict: taken once, only from a helper asked about that subject, within the ask's time. */
  private verdict(asker: IndirectAsker, subjectName: string): void {
    const ask = this.asks.get(subjectName);
    const from = this.member(asker);
    if (ask === undefined || from === undefined || !ask.helpers.has(from.name)) return;
    this.asks.delete(subjectName);
    const subject = this.s.peers.get(subjectName);
    const now = this.s.c.clock.monotonic();
    if (subject === undefined || !this.alive(subject) || ask.until <= now) return;
    // Judged a period after asking: an on-time helper's probe goes unanswered no sooner. A hostile helper's
    // verdict, sent on the check itself, beat a slow (loaded) subject's answer to this monitor's own probe, and
    // this monitor told the site of a live agent (attack test indirect-framing). A fast refusal is no loss:
    // this monitor's own probe is refused as fast.
    // Never at once, even when due: on this monitor's own loop, after what reached it before the verdict. A late
    // loop reads what one stall held in one turn, in no set order, and the subject's heartbeat held beside the
    // verdict is proof of life (swarm seeds 17000707, 17001323: taken first, 4 notices about live stormed agents).
    const early = Math.max(0, ask.at + this.s.cfg.livenessPeriodMs - now);
    this.s.c.clock.setTimeout(() => this.take(subject, ask.at, from.name), early).unref?.();
  }

  /** A verdict, a period or more after the ask: the subject still silent to this monitor, it tells the site. */
  private take(subject: Peer, askedAt: number, helper: string): void {
    if (!this.s.running() || this.s.peers.get(subject.name) !== subject || !this.alive(subject)) return;
    // Heard since it asked (its unicast heartbeat to this monitor, read late by this late loop, or its answer to
    // this monitor's probe): alive, only slow to answer probes (a loaded host: sync-local-health's late
    // answers). A vanished host sends nothing.
    if (subject.lastHeard <= askedAt) this.parts.gone(subject, helper);
  }

  /** The asker as a verified member heard at the request's source address, or undefined. */
  private member(asker: IndirectAsker): Peer | undefined {
    const peer = this.s.peers.get(asker.name);
    const ok =
      peer?.verified && peer.endpoint.address === asker.address && peer.replica.incarnation === asker.incarnation;
    return ok && this.alive(peer) ? peer : undefined;
  }

  private alive(peer: Peer): boolean {
    return this.s.c.directory.held(peer.name)?.state === 'alive';
  }

  /** Oldest first out, at the peer table's bound (no walk of the map while under it). */
  private bound(map: Map<string, unknown>): void {
    for (const name of map.keys()) {
      if (map.size <= SYNC_LIMITS.peers) return;
      map.delete(name);
    }
  }
}
