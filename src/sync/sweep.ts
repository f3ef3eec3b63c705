import type { Endpoint } from '../transport/transport.js';
import { SYNC_LIMITS } from './config.js';
import { countCheck, type CheckRule } from './check-count.js';
import { LostRechecks } from './lost-rechecks.js';
import type { Peer } from './peer-table.js';
import { aliveRing, intervalOf, judgingIntervalMs, type Ring } from './ring.js';
import { SweepSchedule, type Deadline } from './sweep-schedule.js';
import {
  BACKSTOP_INTERVALS,
  FORMER_SUBJECTS,
  NOTICED_FOR_INTERVALS,
  NOTICED_INTERVALS,
  VERIFY_SPREAD_PERIODS,
} from './sweep-thresholds.js';
import type { SyncContext } from './sync-context.js';

export { countCheck, type CheckRule } from './check-count.js';
export { BACKSTOP_INTERVALS, FORMER_SUBJECTS, NOTICED_INTERVALS, VERIFY_SPREAD_PERIODS } from './sweep-thresholds.js';

/** What the sweep does about a peer whose silence grew too long. */
export interface SweepActions {
  /** An alive peer fell silent: asked, and lost if it does not answer. */
  check(peer: Peer): void;
  /** A lost peer is asked whether it is back. */
  probe(peer: Peer, endpoint: Endpoint): void;
  forget(peer: Peer): void;
  /** Whether another check may start now (a late agent keeps only a few under way). */
  checkRoom(): boolean;
  /** Whether this agent's loop is on time (local health 0): a recheck's answer would be read in time. */
  onTime(): boolean;
}

/**
 * The liveness sweep: silence grows to a probe of an alive peer, to another probe of a lost one, or to
 * forgetting it. Each peer's rule gives the time its silence starts to matter (its deadline), and the
 * schedule visits a peer only then, or when an event may have moved that time earlier: this agent's
 * ring moved (a new subject is judged by the period from now on), this agent's own interval shrank (peers
 * whose announced one is shorter or unknown are judged by it), a datagram or an answer came (a new interval,
 * a reset back-off), or a peer or its state changed (the schedule reads both change logs). Walking all peers
 * at every tick was 23 % of an idle agent's CPU at 1,000 agents.
 */
export class Sweep {
  private readonly schedule: SweepSchedule;
  /** Since when this agent has been the monitor of each stretched subject it watches now (a handful). */
  private readonly monitorSince = new Map<string, number>();
  /** Stretched agents this one was a monitor of when they were lost, newest last: the only ones it asks again. */
  private readonly formerSubjects = new Set<string>();
  /** Each peer's interval as judged at its last visit. */
  private readonly judged = new Map<string, number>();
  /** Peers whose interval exceeded the period when last visited: while any is, the ring matters. */
  private readonly stretched = new Set<string>();
  /** Peers whose back-off grew with their interval when last visited (reprobeMs). */
  private readonly backoffByInterval = new Set<string>();
  /** Peers judged by this agent's own interval when last visited (ring.ts intervalOf: theirs shorter or unknown). */
  private readonly bySite = new Set<string>();
  /** When each unverified agent held second-hand is first asked at its endpoint, and how often it was since. */
  private readonly verifying = new Map<string, { from: number; tries: number }>();
  private readonly rechecks: LostRechecks;
  private lastRing: Ring | undefined;

  constructor(
    private readonly s: SyncContext,
    private readonly act: SweepActions,
  ) {
    this.rechecks = new LostRechecks(s.cfg.livenessPeriodMs, s.cfg.name, () => s.members.heldNames());
    this.schedule = new SweepSchedule({
      peers: s.peers.changes,
      states: s.c.directory.stateChanges,
      names: () => [...s.peers.values()].map((p) => p.name),
      heardAt: (name) => s.peers.get(name)?.lastHeard,
      intervalOf: (name) => {
        const peer = s.peers.get(name);
        return peer === undefined ? 0 : (intervalOf(s, peer) ?? 0);
      },
    });
  }

  /** Its deadline may have moved earlier: a probe of it settled. */
  mark(peer: Peer): void {
    this.schedule.mark(peer.name);
  }

  /**
   * The peer was heard (`reset`: that reset its probe back-off). Its deadline moves later, which the
   * schedule sees for itself when the old one comes up; or earlier, by a shorter interval (a backstop's
   * silence is counted in intervals: its entry is moved up) or a reset back-off, or by an interval on the
   * other side of the period (a watched subject's silence then counts from now: monitorSince).
   */
  heard(peer: Peer, reset: boolean): void {
    const was = this.judged.get(peer.name);
    const interval = intervalOf(this.s, peer) ?? 0;
    const period = this.s.cfg.livenessPeriodMs;
    const shorter = was !== undefined && interval < was;
    const crossed = was === undefined || interval > period !== was > period;
    if (crossed || reset || (shorter && this.backoffByInterval.has(peer.name))) this.schedule.mark(peer.name);
    else if (shorter) this.schedule.refresh(peer.name);
  }

  tick(): void {
    const now = this.s.c.clock.monotonic();
    let ring = this.stretched.size > 0 ? aliveRing(this.s) : undefined;
    this.markMoved(ring);
    for (const name of this.monitorSince.keys()) this.schedule.mark(name);
    const ringOf = () => (ring ??= aliveRing(this.s));
    const visit = this.schedule.take(now);
    this.s.c.metrics.livenessSweepVisits.inc({}, visit.size);
    for (const name of visit) {
      const peer = this.s.peers.get(name);
      this.schedule.set(name, peer === undefined ? this.gone(name) : this.visit(peer, now, ringOf));
    }
  }

  /** Deadlines that moved without a peer's event: a ring move's new subjects, and those judged by a shrunk interval. */
  private markMoved(ring: Ring | undefined): void {
    if (ring !== undefined && ring !== this.lastRing)
      for (const name of ring.subjectsOf(this.s.cfg.name)) this.schedule.mark(name);
    this.lastRing = ring;
    this.schedule.siteInterval(judgingIntervalMs(this.s), this.bySite);
  }

  private gone(name: string): undefined {
    this.judged.delete(name);
    this.backoffByInterval.delete(name);
    this.monitorSince.delete(name);
    this.stretched.delete(name);
    this.bySite.delete(name);
    this.verifying.delete(name);
    this.rechecks.forget(name);
    return undefined;
  }

  /** The peer's rule: acts if its deadline passed; returns its next deadline (`now`: look again next tick). */
  private visit(peer: Peer, now: number, ring: () => Ring): Deadline {
    const interval = intervalOf(this.s, peer) ?? 0;
    this.judged.set(peer.name, interval);
    this.note(this.stretched, peer.name, interval > this.s.cfg.livenessPeriodMs);
    const site = judgingIntervalMs(this.s);
    this.note(this.bySite, peer.name, site !== undefined && interval <= site);
    const state = this.s.c.directory.held(peer.name)?.state;
    // Unverified, or lost and asked again: the rest of its deadline is a back-off that grows with its interval.
    this.note(this.backoffByInterval, peer.name, state === 'alive' ? !peer.verified : state === 'lost');
    if (state === 'alive') {
      const { rule, ...d } = this.aliveDue(peer, now, interval, ring);
      const silence = (d.silence ?? 0) + (d.intervals ?? 0) * interval;
      const checkAt = Math.max(peer.lastHeard + silence, d.rest);
      const verifyAt = this.verifyAt(peer, now);
      if (checkAt > now && verifyAt > now) return verifyAt < checkAt ? { rest: verifyAt } : d;
      const checkDue = checkAt <= now;
      // A late agent's checks wait their turn (Liveness.checkRoom); the peer is looked at again next period.
      if (checkDue && verifyAt > now && !this.act.checkRoom()) return { rest: now + this.s.cfg.livenessPeriodMs };
      countCheck(this.s, checkDue ? rule : 'verify', peer, now);
      if (checkDue) this.act.check(peer);
      else {
        const verifying = this.verifying.get(peer.name);
        if (verifying) verifying.tries += 1;
        this.act.probe(peer, peer.endpoint);
      }
      return { rest: now };
    }
    this.monitorSince.delete(peer.name);
    const forgetAfter = peer.verified ? this.s.cfg.forgetAfterMs : SYNC_LIMITS.forgetUnverifiedMs;
    const forgetAt = peer.lastHeard + forgetAfter;
    if (forgetAt <= now) {
      this.act.forget(peer);
      return { rest: now };
    }
    if (state !== 'lost') return { rest: -Infinity, silence: forgetAfter };
    const recheckAt = this.rechecks.dueAt(peer, now, this.act.onTime()); // a loss on timeouts alone
    // Nothing else may ever say it is back (mDNS repeats nothing unchanged): ask it, a little less often.
    const reprobeAt = Math.min(recheckAt, this.asksAgain(peer) ? peer.probedAt + this.reprobeMs(peer) : Infinity);
    if (reprobeAt === Infinity) return { rest: -Infinity, silence: forgetAfter };
    if (reprobeAt > now) return { rest: Math.min(reprobeAt, forgetAt) };
    if (recheckAt <= now) this.rechecks.sent(peer, now);
    countCheck(this.s, recheckAt <= now ? 'recheck' : 'reprobe', peer, now);
    this.act.probe(peer, peer.endpoint);
    return { rest: now };
  }

  /**
   * When an alive peer's silence has lasted its probe threshold and the last probe of it is old enough.
   * The threshold is probeAfterPeriods periods. A peer whose multicast interval is longer than the liveness
   * period sends a unicast heartbeat each period to its monitors, which judge it as before; any other
   * agent hears it only every interval and counts on the monitors' notice to learn of a crash. Its own
   * judgement is the backstop, in periods of BACKSTOP_INTERVALS intervals: probed after 5 intervals of
   * silence, lost after 7. Shorter made every agent probe random hosts at 30 % loss (5 multicast
   * heartbeats in a row lost is 0.24 %; 3 was 2.7 %, 0.8 probes a second per agent at 60 agents): TCP
   * connections to hosts it otherwise never talks to, each a neighbour (ARP) entry. The ring is asked
   * only for a stretched peer (a small site never builds one); a non-member is on no ring.
   */
  private aliveDue(peer: Peer, now: number, interval: number, ring: () => Ring): Deadline & { rule: CheckRule } {
    const period = this.s.cfg.livenessPeriodMs;
    const probeAfter = this.s.cfg.probeAfterPeriods;
    const probed = peer.probedAt + (peer.verified ? period : this.reprobeMs(peer));
    const watched = interval > period && ring().watches(this.s.cfg.name, peer.name);
    if (!watched) this.monitorSince.delete(peer.name);
    if (interval > period && !watched) {
      const noticed = peer.noticedAt !== undefined && now - peer.noticedAt < NOTICED_FOR_INTERVALS * interval;
      const intervals = noticed ? NOTICED_INTERVALS : probeAfter * BACKSTOP_INTERVALS;
      return { rest: probed, intervals, rule: noticed ? 'noticed' : 'backstop' };
    }
    if (!watched) return { rest: probed, silence: probeAfter * period, rule: 'period' };
    // A new monitor counts its subject's silence from when it became its monitor, not from a multicast
    // heard seconds ago: the subject's unicast heartbeats to it start only when its own ring moves too.
    const since = this.monitorSince.get(peer.name) ?? now;
    this.monitorSince.set(peer.name, since);
    return { rest: Math.max(probed, since + probeAfter * period), silence: probeAfter * period, rule: 'monitor' };
  }

  /**
   * When to ask an alive, unverified agent at its endpoint whose devices this one holds (Infinity: not
   * now). A member's catch-up answer gave them, after its endpoint did not answer; its datagrams still
   * come, so its silence never grows to a probe, and each of its changes was refused as unverified and
   * caught up from it by every such viewer at once: a second incast, 1 s late when its accept queue
   * overflowed (issue 18, change at 0 % loss). A made-up name is never held (no member serves it), so it
   * draws no probe here. A probe that failed (the site's probes may meet its endpoint as busy as its
   * catch-ups did) is tried again after 4, 8, then every 16 periods: not the back-off of a name that
   * never answered anyone (up to a minute), which left it unverified when the bench made its changes.
   * The back-off counts this agent's tries, not the probe's failures: a probe its own late loop excused
   * (`lagged`) is no failure, and such probes of every unverified peer every 2 periods fed a loaded cold
   * start (200 agents on a loaded machine: 130k-300k lagged probes, loops 8-14 s late).
   */
  private verifyAt(peer: Peer, now: number): number {
    const held = this.s.c.directory.held(peer.name);
    if (peer.verified || held === undefined || held.version === 0) {
      this.verifying.delete(peer.name);
      return Infinity;
    }
    let verifying = this.verifying.get(peer.name);
    if (verifying === undefined) {
      const from = now + this.s.c.random() * VERIFY_SPREAD_PERIODS * this.s.cfg.livenessPeriodMs;
      verifying = { from, tries: 0 };
      this.verifying.set(peer.name, verifying);
    }
    const tries = Math.max(verifying.tries, peer.probeFailures);
    const retry = VERIFY_SPREAD_PERIODS * Math.min(2 ** tries, 8) * this.s.cfg.livenessPeriodMs;
    return Math.max(verifying.from, peer.probedAt + retry);
  }

  private note(set: Set<string>, name: string, member: boolean): void {
    if (member) set.add(name);
    else set.delete(name);
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

  /**
   * The peer was lost: if this agent watched it, it is one of the few it asks again. `onTimeouts`: on unanswered
   * probes alone (no refusal, no believed word), it is checked again a few times whoever watched it (lost-rechecks.ts).
   */
  lost(peer: Peer, onTimeouts: boolean): void {
    this.rechecks.lost(peer, this.s.c.clock.monotonic(), onTimeouts);
    this.formerSubjects.delete(peer.name);
    if (this.monitorSince.has(peer.name)) this.formerSubjects.add(peer.name);
    // Oldest first out: a bound on the dead hosts this agent keeps probing (each an ARP entry).
    for (const n of this.formerSubjects) if (this.formerSubjects.size > FORMER_SUBJECTS) this.formerSubjects.delete(n);
  }

  /** 2, then 4 periods between probes of a lost peer: a return is noticed within 40 s even with mDNS alone. */
  reprobeMs(peer: Peer): number {
    const backoff = this.s.cfg.livenessPeriodMs * (peer.probeFailures > 1 ? 4 : 2);
    // On a large site every agent would probe every lost one every 4 s: one ARP broadcast each to a dead
    // host. Its stretched heartbeat says it is back anyway, so once per interval is enough.
    // One that never answered (a made-up name in unsigned datagrams at a third party's address, each of
    // which revived it) was asked twice per datagram by every agent: 2 s, doubling to a minute, instead.
    const never = peer.verified ? 0 : Math.min(1000 * 2 ** peer.probeFailures, SYNC_LIMITS.unverifiedRetryMaxMs);
    return Math.max(backoff, 1.5 * (intervalOf(this.s, peer) ?? 0), never);
  }
}
