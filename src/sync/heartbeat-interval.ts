import { jitter, type Random } from '../util/random.js';

/**
 * Bytes a second of heartbeats the whole site may multicast, on the wire: RTCP's fixed share of the
 * session bandwidth (RFC 3550 §6.2). About 20 heartbeats a second up to 50 agents, so a missed change is
 * hinted within a fraction of a second; with mDNS's idle traffic beside it a segment stays within 2 kB/s of
 * multicast.
 */
export const SITE_HEARTBEAT_BUDGET = 1200;
/**
 * Past this many members the budget shrinks as (FULL_BUDGET_MEMBERS / members)^SHRINK_EXPONENT, down to
 * BUDGET_FLOOR_SHARE of it: 1,200 B/s up to 50 agents (as before), 424 at 100, 150 from 200 on. Every agent
 * hears the whole site's multicast, so the site's budget is also each agent's received multicast, and the goal
 * is 300 B/s received per agent on the wire from 200 agents on, the ring's unicast (~127 B/s on the wire: two
 * rounds a second from its subjects) included. A missed change is then hinted mostly by the ring's unicast
 * rounds (hints.ts), whose rate does not depend on the multicast's, and which go both ways while a change is
 * fresh (announcer.ts, docs/protocol.md "Scale": "Shrinking the multicast budget").
 */
export const FULL_BUDGET_MEMBERS = 50;
/**
 * RTCP keeps the whole session's control traffic a fixed share (RFC 3550 §6.2: exponent 0 for the site, each
 * member's share 1 / members). Here the site's share itself shrinks past 50 members, faster than 1 / members
 * (the shape before this, which left 600 B/s at 100 and 300 at 200): at 1.5 the floor is reached at 200 exactly.
 */
export const SHRINK_EXPONENT = 1.5;
/**
 * The shrink stops at this share of the budget (150 B/s on the wire, ~2.6 heartbeats a second site-wide with
 * ~57-byte heartbeats): RTCP's fixed share of the session (RFC 3550 §6.2), here the site's. It was 0.3 (360 B/s)
 * and the site's multicast alone then was over the goal once the ring's unicast was added (bench, 200 agents:
 * 503 B/s received per agent on the wire, 377 of it multicast).
 */
export const BUDGET_FLOOR_SHARE = 0.125;

/** The site's heartbeat budget on the wire, B/s, with `members` agents alive: `budget` shrunk past 50, floored. */
export function siteBudget(members: number, budget = SITE_HEARTBEAT_BUDGET): number {
  const shrink = Math.min(1, (FULL_BUDGET_MEMBERS / members) ** SHRINK_EXPONENT);
  return budget * Math.max(BUDGET_FLOOR_SHARE, shrink);
}

/**
 * What a datagram costs on the segment beyond its payload (UDP 8 + IPv4 20): RTCP's avg_rtcp_size counts
 * them too (§6.3.3), and a 25-byte heartbeat is half headers, so a payload budget would let the wire
 * carry twice the share.
 */
export const UDP_IPV4_HEADERS = 28;
/** A heartbeat's size on the wire before any is seen: a short name, no hints, no key. */
const INITIAL_MEAN_SIZE = 60;
/** RTCP's avg_rtcp_size gain (RFC 3550 §6.3.3): one odd datagram moves the mean a little. */
const SIZE_GAIN = 1 / 16;

/**
 * The multicast heartbeat interval of this agent: max(period, members × mean heartbeat size / budget), the
 * budget shrunk past FULL_BUDGET_MEMBERS (siteBudget), RTCP's deterministic interval (RFC 3550 §6.3.1) with
 * the configured period as its minimum. Up to budget × period / size agents (20 with 60-byte heartbeats on
 * the wire and 1 s) it is the period, as before, drawn with the same ±20 % jitter; past it, each wait is
 * drawn uniformly in 0.5–1.5 × the interval (§6.3.1), so that a site's heartbeats do not fall into step.
 */
export class HeartbeatInterval {
  private meanSize = INITIAL_MEAN_SIZE;

  constructor(
    private readonly periodMs: number,
    /** False: the fixed-period protocol, the benchmark's baseline (ClusterSyncInit.heartbeatScaling). */
    private readonly scaling: boolean,
    private readonly budget = SITE_HEARTBEAT_BUDGET,
  ) {}

  /** A multicast heartbeat sent or heard (its payload's bytes): its size on the wire moves the mean. */
  sized(bytes: number): void {
    this.meanSize += (bytes + UDP_IPV4_HEADERS - this.meanSize) * SIZE_GAIN;
  }

  /** The mean interval with `members` agents alive on the site, this one included. */
  meanMs(members: number): number {
    if (!this.scaling) return this.periodMs;
    return Math.max(this.periodMs, Math.round(((members * this.meanSize) / siteBudget(members, this.budget)) * 1000));
  }

  /** Whether the site's budget is shrunk (past FULL_BUDGET_MEMBERS): its multicast hints thin out, the ring's count. */
  shrunk(members: number): boolean {
    return this.scaling && siteBudget(members, this.budget) < this.budget;
  }

  /** Whether the site's size stretched the interval past the configured period. */
  scaled(members: number): boolean {
    return this.meanMs(members) > this.periodMs;
  }

  /** The randomisation of one wait: a factor of the mean interval. */
  factor(random: Random, members: number): number {
    return this.scaled(members) ? 0.5 + random() : jitter(random, 1, 0.2);
  }
}
