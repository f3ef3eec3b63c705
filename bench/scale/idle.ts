import { sleep, now } from '../harness.js';
import { fullGc } from '../stats.js';
import type { BenchCluster, Traffic } from '../system.js';
import { TCP_EXCHANGE_OVERHEAD, UDP_IP_HEADER_BYTES } from '../wire.js';
import type { GroupListener, SenderTally } from './group-listener.js';
import type { ProcessCluster } from './process-cluster.js';
import type { Phases } from './scale.js';
import type { SiteCounters } from './site-worker.js';

/** The scale step's idle window: what each agent sends and receives on a settled site, and what those bytes are. */

/**
 * 15 s at least: at 200 agents the site multicasts ~2.6 heartbeats a second, so a 5 s window held ~8-12 and its
 * figure was the draw (the same protocol read 233-323 B/s received per agent in five runs; idle17). The ring's
 * rounds are steady, 2 a second an agent. Past 50 agents the window is longer (WINDOW_INTERVALS).
 */
export const IDLE_SECONDS = 15;

/**
 * The window opens WAKE_INTERVALS of the site's announced multicast interval after the cold start and lasts
 * WINDOW_INTERVALS of it (IDLE_SECONDS at least), as the simulator's (test/swarm/scale.ts). A cold start makes
 * every agent redraw its wait within the same minute (its announcement, the solicits it answered: 0.5-1.5
 * intervals each), so the site is near silent for half an interval and then multicasts above its budget for about
 * one more: in the simulator at 200 agents (interval ~77 s) 177-215 B/s on the wire 60-140 s after the start
 * against 157-160 from 150 s on. The bench's window opened 20-90 s after convergence, in that wake (idle21).
 */
const WAKE_INTERVALS = 2;
const WINDOW_INTERVALS = 1.5;
/** Caps: an interval past 150 s (a site far past 200 agents) waits and measures no longer than this. */
const WAKE_MAX_MS = 300_000;
const WINDOW_MAX_MS = 225_000;

/** What the window's timing reads of the group listener. */
type Heard = Pick<GroupListener, 'senders' | 'sinceMark'>;

/** The site's mean multicast interval as its agents announce it: the median of the senders heard since the mark. */
export function announcedIntervalMs(listener: Heard): number | undefined {
  const heard = [...listener.senders().bySender.values()].flatMap((t) => t.intervalMs ?? []).sort((a, b) => a - b);
  return heard.length > 0 ? heard[Math.floor(heard.length / 2)] : undefined;
}

/**
 * Waits until WAKE_INTERVALS of the announced interval have passed since the listener's mark (2.2 s after the
 * cold start): none on a site whose interval is not stretched (no agent announces one). Returns how long it waited.
 */
export async function pastTheWake(listener: Heard): Promise<number> {
  const t0 = now();
  for (;;) {
    const wake = Math.min(WAKE_INTERVALS * (announcedIntervalMs(listener) ?? 0), WAKE_MAX_MS);
    const left = wake - listener.sinceMark();
    if (left <= 0) return now() - t0;
    await sleep(Math.min(left, 5000));
  }
}

/** The idle window's length: WINDOW_INTERVALS of the announced interval, IDLE_SECONDS at least. */
export function idleWindowMs(listener: Heard): number {
  const stretched = Math.min(WINDOW_INTERVALS * (announcedIntervalMs(listener) ?? 0), WINDOW_MAX_MS);
  return Math.max(IDLE_SECONDS * 1000, stretched);
}

/** The idle window waits for this long without a view exchange on the site, QUIET_MAX_MS at most. */
const QUIET_MS = 20_000;
const QUIET_MAX_MS = 120_000;

const exchanges = (c: SiteCounters) =>
  Object.entries(c.sums).reduce((n, [k, v]) => n + (k.startsWith('view_exchanges_total') ? v : 0), 0);

/**
 * Waits until no agent has asked a view exchange (src/sync/rejoin.ts) for QUIET_MS: the cold start's tail.
 * Each is a summary of ~90 B an agent (18 kB at 200) asked at most once a minute per agent; one refused by
 * that bound runs up to a minute later, and a loaded cold start leaves many (probes of live peers that timed
 * out). The idle window opened 2 s after convergence and counted them: the lead's converged 200-agent run of
 * 06:59 UTC received 788 B/s of payload per agent, ~560 of it (all but the datagrams' ~230) in the 26 hellos
 * of its window, ~21 kB each, every one a probe "answered alive" while the loops were on time (13 ms p99).
 * A settled site asks none; the simulator opens its window 2 intervals after the cold start for the same
 * reason (test/swarm/scale.ts). Returns how long it waited, and the counters' growth meanwhile.
 */
export async function quietExchanges(c: BenchCluster): Promise<{ ms: number; counters?: SiteCounters }> {
  if (!('counters' in c)) return { ms: 0 };
  const pc = c as ProcessCluster;
  const t0 = now();
  const first = await pc.counters();
  let [last, since, at] = [exchanges(first), now(), first];
  while (now() - since < QUIET_MS && now() - t0 < QUIET_MAX_MS) {
    await sleep(2000);
    at = await pc.counters();
    if (exchanges(at) !== last) [last, since] = [exchanges(at), now()];
  }
  return { ms: now() - t0, counters: counterGrowth(first, at) };
}

/** What the idle received bytes were, per agent a second on the wire, and the exchanges counted. */
export interface IdleReceived {
  multicast: number;
  unicast: number;
  summaries: number;
  hellos: number;
  catchUps: number;
  exchanges: { summaries: number; hellos: number; others: number };
}

export interface IdleFigures {
  multicastBytesPerSecond: number;
  sentBytesPerSecondPerAgent: number;
  receivedBytesPerSecondPerAgent: number;
  rssMiBPerAgent: number;
  heapMiBPerAgent: number;
  cpuPercentPerAgent: number;
  idlePayload: { sentBytesPerSecondPerAgent: number; receivedBytesPerSecondPerAgent: number };
  idleSeconds: number;
  idleReceived: IdleReceived;
  idleCounters?: SiteCounters;
  multicastSenders: MulticastSenders;
  multicastSeries: MulticastSeries;
}

/**
 * The site's multicast on the wire from the listener's mark (2.2 s after the cold start) to the idle window's end,
 * B/s a bin, and where the window fell in it: whether the window read a settled site or the cold start's wake
 * (every agent's cycle drawn within the same minute: the simulator saw a quiet half interval, then a catch-up).
 */
export interface MulticastSeries {
  binMs: number;
  bytesPerSecond: number[];
  /** The idle window's start and end, ms after the mark. */
  windowFromMarkMs: [number, number];
}

/**
 * Who multicast from the listener's mark (after the cold start, the quiet wait included) to the idle window's
 * end, against what each agent's own announced interval accounts for (one datagram per interval on average,
 * RTCP's waits being 0.5-1.5 of it): the question of idle13, why the real site's idle multicast at 200 read
 * 312-480 B/s on the wire where the budget's floor is 360 and the simulator's payload 166.
 */
export interface MulticastSenders {
  seconds: number;
  datagrams: number;
  /** Σ over every agent of seconds / its announced interval (the median heard for one not heard). */
  expected: number;
  senders: number;
  byType: Record<string, number>;
  /** The 10 agents that sent the most beyond their own expectation. */
  top: { agent: string; datagrams: number; expected: number; intervalMs?: number; types: Record<string, number> }[];
}

export function multicastSenders(
  tally: { ms: number; bySender: Map<string, SenderTally> },
  names: readonly string[],
): MulticastSenders {
  const seconds = tally.ms / 1000;
  const intervals = [...tally.bySender.values()].flatMap((t) => t.intervalMs ?? []).sort((a, b) => a - b);
  const median = intervals[Math.floor(intervals.length / 2)];
  const expectedOf = (t?: SenderTally) => {
    const interval = t?.intervalMs ?? median;
    return interval ? (seconds * 1000) / interval : 0;
  };
  const byType: Record<string, number> = {};
  let datagrams = 0;
  for (const t of tally.bySender.values()) {
    datagrams += t.datagrams;
    for (const [k, v] of Object.entries(t.types)) byType[k] = (byType[k] ?? 0) + v;
  }
  const top = [...tally.bySender.entries()]
    .map(([agent, t]) => ({
      agent,
      datagrams: t.datagrams,
      expected: expectedOf(t),
      intervalMs: t.intervalMs,
      types: { ...t.types },
    }))
    .sort((a, b) => b.datagrams - b.expected - (a.datagrams - a.expected))
    .slice(0, 10);
  const expected = names.reduce((e, n) => e + expectedOf(tally.bySender.get(n)), 0);
  return { seconds, datagrams, expected, senders: tally.bySender.size, byType, top };
}

export type Memory = { rss: number; heap: number };

/** After a full GC, so that the heap figure is live data. */
export async function memory(): Promise<Memory> {
  await fullGc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

/** Every child's traffic read once (an IPC round): when, as the midpoint of the round, and the group's bytes. */
async function reading(
  c: BenchCluster,
  listener: GroupListener,
): Promise<{ traffic: Traffic; at: number; heard: number }> {
  const asked = now();
  await c.refresh?.();
  return { traffic: c.traffic(), at: (asked + now()) / 2, heard: listener.bytes };
}

/**
 * What an agent's idle received bytes are, per agent a second on the wire: every copy of the site's multicast,
 * the ring's unicast datagrams, hellos asking a summary, other hellos (probes), and the other exchanges
 * (catch-ups). A summary at 200 agents is ~18 kB: one per agent a minute is 300 B/s by itself.
 */
function breakdown(d: Traffic, seconds: number, n: number): IdleReceived {
  const per = (bytes: number) => bytes / seconds / n;
  const others = d.httpBytes - d.summaryBytes - d.helloBytes;
  return {
    multicast: per(d.datagramBytesReceived - d.unicastBytesReceived),
    unicast: per(d.unicastBytesReceived),
    summaries: per(d.summaryBytes),
    hellos: per(d.helloBytes),
    catchUps: per(others),
    exchanges: {
      summaries: d.summaryRequests,
      hellos: d.helloRequests,
      others: d.httpRequests - d.summaryRequests - d.helloRequests,
    },
  };
}

function delta(a: Traffic, b: Traffic): Traffic {
  const d = { ...b };
  for (const k of Object.keys(d) as (keyof Traffic)[]) d[k] -= a[k];
  return d;
}

export async function idleFigures(
  c: BenchCluster,
  listener: GroupListener,
  mem0: Memory,
  ph: Phases,
): Promise<IdleFigures> {
  const n = c.names.length;
  const counted = 'counters' in c ? (c as ProcessCluster) : undefined;
  const counters0 = await counted?.counters();
  await ph.end('settle', false);
  // The window runs from one reading of every child's counters to the next, each an IPC round to loops that
  // may be late: it is timed between those readings, not by the sleep alone (the bytes of the rounds before
  // and after the sleep, the load and counter questions, were divided by the sleep's 5 s).
  const r0 = await reading(c, listener);
  const opened = listener.sinceMark();
  await sleep(idleWindowMs(listener));
  const r1 = await reading(c, listener);
  const closed = listener.sinceMark();
  const seconds = (r1.at - r0.at) / 1000;
  const loads = await ph.end('idle');
  const counters1 = counters0 && (await counted!.counters());
  const d = delta(r0.traffic, r1.traffic);
  // The simulator counts payload: the same bytes without 28 per datagram and 104 per TCP exchange.
  const httpPayload = d.httpBytes - TCP_EXCHANGE_OVERHEAD * d.httpRequests;
  const sentPayload = d.datagramBytes - UDP_IP_HEADER_BYTES * d.datagrams;
  const receivedPayload = d.datagramBytesReceived - UDP_IP_HEADER_BYTES * d.datagramsReceived;
  const held = await memory();
  // In child processes the agents' own CPU and RSS (Node's ~40 MiB baseline shared by 50 agents);
  // in this process the bench's CPU and its growth, an indication only.
  const agentLoads = c.processes ? loads.slice(1) : loads.slice(0, 1);
  const cpuPercent = agentLoads.reduce((s, l) => s + l.cpuPercent, 0);
  const rssMiB = c.processes
    ? agentLoads.reduce((s, l) => s + l.rssMiB, 0)
    : Math.max(0, held.rss - mem0.rss) / 2 ** 20;
  return {
    multicastBytesPerSecond: (r1.heard - r0.heard) / seconds,
    sentBytesPerSecondPerAgent: (d.datagramBytes + d.httpBytes) / seconds / n,
    receivedBytesPerSecondPerAgent: (d.datagramBytesReceived + d.httpBytes) / seconds / n,
    rssMiBPerAgent: rssMiB / n,
    heapMiBPerAgent: c.processes ? NaN : Math.max(0, held.heap - mem0.heap) / 2 ** 20 / n,
    cpuPercentPerAgent: cpuPercent / n,
    idleSeconds: seconds,
    idleReceived: breakdown(d, seconds, n),
    idlePayload: {
      sentBytesPerSecondPerAgent: (sentPayload + httpPayload) / seconds / n,
      receivedBytesPerSecondPerAgent: (receivedPayload + httpPayload) / seconds / n,
    },
    idleCounters: counters0 && counters1 && counterGrowth(counters0, counters1),
    multicastSenders: multicastSenders(listener.senders(), c.names),
    multicastSeries: { ...listener.bytesPerSecond(), windowFromMarkMs: [Math.round(opened), Math.round(closed)] },
  };
}

export function counterGrowth(from: SiteCounters, to: SiteCounters): SiteCounters {
  const sums: Record<string, number> = {};
  for (const [k, v] of Object.entries(to.sums)) if (v !== (from.sums[k] ?? 0)) sums[k] = v - (from.sums[k] ?? 0);
  return { sums, maxServedChanges: to.maxServedChanges - from.maxServedChanges };
}
