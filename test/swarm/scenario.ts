import type { HealthState } from '../../src/profiles/checks.js';
import { encodeMessage, MAX_HINTS } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { siteBudget, UDP_IPV4_HEADERS } from '../../src/sync/heartbeat-interval.js';
import { BACKSTOP_INTERVALS } from '../../src/sync/liveness.js';
import { seededRandom, type Random } from '../../src/util/random.js';
import { drawDeaf } from './deaf.js';
import { drawFreeze } from './freeze.js';
import { drawGhostHeal } from './ghost-heal.js';
import { drawLag } from './lag.js';
import { drawMoves } from './moves.js';
import { drawStarve } from './starve.js';
import { drawStorm } from './storm.js';

/** How an agent discovers its peers: Herald datagrams, mDNS (simulated), or both. */
export type DiscoveryMode = 'multicast' | 'mdns' | 'both';

/** Which device set an agent publishes: a few small devices, or a set near a limit of the profile rules. */
export type DeviceSetKind = 'small' | 'many' | 'wide' | 'huge';

export interface AgentPlan {
  name: string;
  mode: DiscoveryMode;
  devices: DeviceSetKind;
  /** When it first starts (most at 0; some join late). */
  joinAt: number;
}

/** `n` agents `agent-0`… on multicast with small device sets, all at 0 unless `joinAt` says otherwise. */
export function multicastSite(n: number, joinAt: (i: number) => number = () => 0): AgentPlan[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `agent-${i}`,
    mode: 'multicast',
    devices: 'small',
    joinAt: joinAt(i),
  }));
}

/** One fault or action of a schedule. Each carries everything it needs, so that any subset still runs. */
export type FaultEvent =
  | { at: number; kind: 'change'; agent: string; seed: number }
  | { at: number; kind: 'crash'; agent: string }
  | { at: number; kind: 'stop'; agent: string; goodbyeLostTo: string[] }
  /** Down and back with a new incarnation: crashed, or stopped with its goodbye lost to some agents. */
  | {
      at: number;
      kind: 'restart';
      agent: string;
      move: boolean;
      downMs: number;
      goodbye: boolean;
      goodbyeLostTo: string[];
    }
  | { at: number; until: number; kind: 'link'; to: string; loss: number; duplicate: number; reorderMs: number }
  | { at: number; until: number; kind: 'mdns-loss'; to: string; loss: number }
  /** `to` hears none of the site's multicast datagrams; its unicast and TCP work both ways (deaf.ts). */
  | { at: number; until: number; kind: 'deaf'; to: string }
  | { at: number; until: number; kind: 'partition'; side: string[] }
  | { at: number; until: number; kind: 'cut'; from: string; to: string }
  | {
      at: number;
      until: number;
      kind: 'rpc';
      to: string;
      fault: 'fail' | 'hang' | 'late';
      share: number;
      delayMs: number;
    }
  | { at: number; kind: 'clock-step'; ms: number }
  /** The agent's event loop stalls stallMs every everyMs (a busy process): what is due then waits (lag.ts). */
  | { at: number; until: number; kind: 'lag'; to: string; stallMs: number; everyMs: number }
  /** Many agents late together, loops and answers, in `processes` taking turns (storm.ts). */
  | { at: number; until: number; kind: 'storm'; agents: string[]; stallMs: number; everyMs: number; processes: number }
  /** `origin` changes while `viewer` hears no datagram for deafMs; then the viewer must hold it soon (starve.ts). */
  | { at: number; kind: 'starve'; origin: string; viewer: string; deafMs: number; seed: number }
  /** The whole host frozen (SIGSTOP, a VM suspended): nothing runs, is read or answered until `until` (freeze.ts). */
  | { at: number; until: number; kind: 'freeze'; to: string }
  /** The running agent moves to a new address, same life; its old address left vacant (moves.ts). */
  | { at: number; kind: 'move'; agent: string }
  | { at: number; kind: 'heal-check'; crashed: string; side: string[]; since: number } // none holds it (ghost-heal.ts)
  /** A run-time registration through the agent's API: with a TTL (a lease) and a ttl health check or not. */
  | { at: number; kind: 'register'; agent: string; id: string; ttlMs?: number; checkTtlMs?: number }
  | { at: number; kind: 'renew' | 'withdraw'; agent: string; id: string }
  | { at: number; kind: 'health'; agent: string; id: string; status: HealthState };

export interface Scenario {
  seed: number;
  heartbeatMs: number;
  agents: AgentPlan[];
  /** Faults happen within [0, faultMs); then the site is left alone for quietMs before the final check. */
  faultMs: number;
  quietMs: number;
  faults: FaultEvent[];
  /** Every agent's heartbeat budget (ClusterSyncInit.heartbeatBudget): a small site stretched as a large one. */
  heartbeatBudget?: number;
}

export interface DrawOptions {
  /** The largest site drawn. */
  maxAgents?: number;
  /**
   * Hosts that move or freeze while running (moves.ts, freeze.ts); default: HERALD_SWARM_HOST_FAULTS=1 (set by
   * main.ts's random search unless `--no-host-faults`). The seeds that failed with them (attack14) pass since
   * storm14 and hostf15 (test/swarm-host-faults.test.ts); the bounded swarm of `npm test` runs without them.
   */
  hostFaults?: boolean;
}

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const between = (r: Random, lo: number, hi: number): number => lo + r() * (hi - lo);
const int = (r: Random, lo: number, hi: number): number => Math.floor(between(r, lo, hi + 1));

/** Fault kinds a seed may enable; each seed enables a random subset (swarm testing, Groce et al. 2012). */
const KINDS = [
  'change',
  'burst',
  'crash',
  'stop',
  'restart',
  'link',
  'mdns-loss',
  'partition',
  'cut',
  'rpc',
  'clock-step',
];
const WEIGHTS = [10, 5, 3, 3, 8, 8, 3, 3, 3, 6, 1];

/** Draws a whole site and its fault schedule from a seed: the same seed gives the same scenario. */
export function drawScenario(seed: number, opts: DrawOptions = {}): Scenario {
  const r = seededRandom(seed ^ 0x5eed5eed);
  const heartbeatMs = 1000;
  const agents = drawAgents(r, opts.maxAgents ?? 60);
  const names = agents.map((a) => a.name);
  // Faults pile up on a few agents, so that rare combinations (a burst, a loss, a restart) meet.
  const focus = names.filter(() => r() < 0.3);
  const enabled = KINDS.map(() => r() < 0.65);
  const faultMs = Math.round(between(r, 3, 30)) * heartbeatMs;
  // ...and in time: most faults fall within a second or two of a few hot moments.
  const hot = Array.from({ length: int(r, 1, 3) }, () => between(r, 0, faultMs));
  const count = Math.floor(r() ** 1.5 * 40);
  const faults: FaultEvent[] = [];
  for (let i = 0; i < count; i++) {
    const kind = weighted(r, enabled);
    if (kind === undefined) break;
    const agent = focus.length > 0 && r() < 0.7 ? pick(r, focus) : pick(r, names);
    const near = r() < 0.6 ? pick(r, hot) + between(r, -1500, 1500) : between(r, 0, faultMs);
    faults.push(...drawFault(r, KINDS[kind], agent, names, faultMs, Math.round(Math.min(faultMs, Math.max(0, near)))));
  }
  faults.push(...drawRegistrations(seed, names, faultMs));
  faults.push(...drawLag(seed, names, faultMs));
  faults.push(...drawStarve(seed, names, faultMs));
  faults.push(...drawStorm(seed, names, faultMs), ...drawGhostHeal(seed, agents, faultMs));
  faults.push(...drawDeaf(seed, names, faultMs));
  const hostFaults = opts.hostFaults ?? process.env.HERALD_SWARM_HOST_FAULTS === '1';
  const freezes = hostFaults ? drawFreeze(seed, agents, faultMs) : [];
  if (hostFaults) faults.push(...drawMoves(seed, agents, faultMs), ...freezes);
  faults.sort((a, b) => a.at - b.at);
  const quietMs = quietWindowMs(agents, heartbeatMs);
  // A freeze may last past the drawn window: the site is left alone only once it is over.
  const lasts = Math.max(faultMs, ...freezes.map((f) => ('until' in f ? f.until : 0)));
  return { seed, heartbeatMs, agents, faultMs: lasts, quietMs, faults };
}

/** The largest site `--max-agents` may allow (issue 18: sites up to 200 agents drawn in). */
export const LARGEST_SITE = 200;

/**
 * How long the site is left alone before the final invariants: long enough for backoff (5 s), loss
 * detection (3.5 liveness periods) and mDNS's slower periods (a liveness period of ten heartbeats).
 */
export function quietWindowMs(agents: AgentPlan[], heartbeatMs: number): number {
  const mdnsOnly = agents.some((a) => a.mode === 'mdns');
  const base = (mdnsOnly ? 45 : 15) * heartbeatMs;
  // Past a few dozen agents each heartbeat is stretched with the site (RTCP, src/sync/heartbeat-interval.ts).
  // A host that missed every lost notice (cut off from the monitors when the agent crashed) loses it by
  // the backstop: probed after 5 of the agent's intervals of silence (docs/protocol.md, "Liveness"). So the
  // window covers 5 of the longest interval an agent can announce, every heartbeat carrying its full hints.
  // Sized on a 60-byte heartbeat it was 4.5 intervals of a third too short, and seed 3002048 (171 agents,
  // a partition at the crash) was checked 28 s before the far side's backstop could have probed.
  const stretched = longestIntervalMs(agents.length, heartbeatMs);
  return stretched > heartbeatMs ? base + Math.round(BACKSTOP_SILENCE_INTERVALS * stretched) : base;
}

/** A stretched peer's silence before a non-monitor probes it: probeAfterPeriods (2.5) × BACKSTOP_INTERVALS. */
const BACKSTOP_SILENCE_INTERVALS = 2.5 * BACKSTOP_INTERVALS;
/** Room for an authentication trailer, though the swarm's sites have no key. */
const TRAILER_ALLOWANCE = 32;

/** The mean interval of a site this size if every heartbeat were as long as it can be (8 hints). */
function longestIntervalMs(members: number, heartbeatMs: number): number {
  const hints = Array.from({ length: MAX_HINTS }, () => ({
    nameHash: 0xffffffff,
    incarnationTag: 0xffff,
    version: 1e6,
  }));
  const { bytes } = encodeMessage({
    type: MessageType.heartbeat,
    site: 'sim',
    name: `agent-${members}`,
    incarnation: 1e6,
    version: 1e6,
    peerPort: 65535,
    intervalMs: 3_600_000,
    hints,
  });
  const wire = bytes.length + TRAILER_ALLOWANCE + UDP_IPV4_HEADERS;
  return Math.max(heartbeatMs, Math.round(((members * wire) / siteBudget(members)) * 1000));
}

function weighted(r: Random, enabled: boolean[]): number | undefined {
  const total = WEIGHTS.reduce((sum, w, i) => sum + (enabled[i] ? w : 0), 0);
  if (total === 0) return undefined;
  let x = r() * total;
  for (let i = 0; i < WEIGHTS.length; i++) {
    if (!enabled[i]) continue;
    x -= WEIGHTS[i];
    if (x < 0) return i;
  }
  return undefined;
}

function drawAgents(r: Random, maxAgents: number): AgentPlan[] {
  const roll = r();
  // Large sites are rare (2 % of seeds, issue 18) and only when allowed: with --max-agents 60 or less the
  // draw, and so every recorded seed, stays what it was (the same random numbers are taken either way).
  const size =
    roll < 0.65
      ? int(r, 2, 6)
      : roll < 0.97
        ? int(r, 7, 16)
        : roll < 0.98 || maxAgents <= 60
          ? int(r, 17, 60)
          : int(r, 61, LARGEST_SITE);
  const n = Math.min(Math.max(2, size), Math.max(2, maxAgents));
  // Every mix shares one discovery: a multicast-only and an mDNS-only agent cannot hear each other.
  const site = r();
  const modes: DiscoveryMode[] =
    site < 0.7 ? ['multicast'] : site < 0.8 ? ['mdns'] : site < 0.9 ? ['multicast', 'both'] : ['mdns', 'both'];
  return Array.from({ length: n }, (_, i) => {
    const big = r();
    const devices: DeviceSetKind = n > 8 || big < 0.96 ? 'small' : big < 0.975 ? 'many' : big < 0.99 ? 'wide' : 'huge';
    return {
      name: `agent-${i}`,
      mode: pick(r, modes),
      devices,
      joinAt: i < 2 || r() < 0.8 ? 0 : Math.round(between(r, 0, 5000)),
    };
  });
}

function drawFault(r: Random, kind: string, agent: string, names: string[], faultMs: number, at: number): FaultEvent[] {
  const until = Math.min(faultMs, at + Math.round(between(r, 200, 15_000)));
  const others = names.filter((n) => n !== agent);
  const some = () => names.filter(() => r() < 0.5);
  switch (kind) {
    case 'change':
      return [{ at, kind, agent, seed: int(r, 1, 2 ** 30) }];
    case 'burst': {
      // Changes a few milliseconds apart, faster than announcements can be spread.
      let t = at;
      return Array.from({ length: int(r, 3, 12) }, () => ({
        at: (t += Math.round(between(r, 0, 40))),
        kind: 'change',
        agent,
        seed: int(r, 1, 2 ** 30),
      }));
    }
    case 'crash':
      return [{ at, kind, agent }];
    case 'stop':
      return [{ at, kind, agent, goodbyeLostTo: some() }];
    case 'restart': {
      const downMs = r() < 0.5 ? 0 : Math.round(r() < 0.5 ? between(r, 0, 100) : between(r, 0, 8000));
      return [{ at, kind, agent, move: r() < 0.3, downMs, goodbye: r() < 0.5, goodbyeLostTo: some() }];
    }
    case 'link': {
      const loss = r() < 0.3 ? 1 : between(r, 0, 0.9);
      return [{ at, until, kind, to: agent, loss, duplicate: between(r, 0, 0.3), reorderMs: between(r, 0, 60) }];
    }
    case 'mdns-loss':
      return [{ at, until, kind, to: agent, loss: r() < 0.3 ? 1 : between(r, 0, 0.9) }];
    case 'partition':
      return [{ at, until, kind, side: some() }];
    case 'cut':
      return [{ at, until, kind, from: agent, to: pick(r, others) }];
    case 'rpc': {
      const fault = pick(r, ['fail', 'hang', 'late'] as const);
      return [{ at, until, kind, to: agent, fault, share: between(r, 0.2, 1), delayMs: between(r, 1, 1500) }];
    }
    default:
      return [{ at, kind: 'clock-step', ms: Math.round(between(r, -7_200_000, 7_200_000)) }];
  }
}

/**
 * Run-time registrations, from a random stream of their own so that the rest of a seed's schedule (and
 * every recorded regression seed) stays what it was: half the seeds register a few devices, some with a
 * TTL renewed a few times and then left to lapse (or withdrawn), some with a ttl check reported on.
 */
export function drawRegistrations(seed: number, names: string[], faultMs: number): FaultEvent[] {
  const r = seededRandom(seed ^ 0x7e6157e7);
  if (r() < 0.5) return [];
  const out: FaultEvent[] = [];
  for (let i = 0, n = int(r, 1, 6); i < n; i++) {
    const agent = pick(r, names);
    const id = `${agent}-reg${i}`;
    let at = Math.round(between(r, 0, faultMs));
    const ttlMs = r() < 0.6 ? Math.round(between(r, 1000, 6000)) : undefined;
    const checkTtlMs = r() < 0.5 ? Math.round(between(r, 1000, 6000)) : undefined;
    out.push({ at, kind: 'register', agent, id, ttlMs, checkTtlMs });
    const start = at;
    if (ttlMs)
      for (let k = int(r, 0, 4); k > 0; k--) out.push({ at: (at += Math.round(ttlMs / 2)), kind: 'renew', agent, id });
    if (checkTtlMs)
      for (let k = int(r, 1, 4); k > 0; k--) {
        const status = pick(r, ['passing', 'warning', 'critical'] as const);
        out.push({ at: Math.round(start + between(r, 0, 2 * checkTtlMs)), kind: 'health', agent, id, status });
      }
    if (r() < 0.2) out.push({ at: Math.round(start + between(r, 0, 8000)), kind: 'withdraw', agent, id });
  }
  return out.filter((e) => e.at < faultMs);
}
