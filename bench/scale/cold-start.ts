import { now, sleep, waitFor } from '../harness.js';
import type { BenchCluster } from '../system.js';
import { ColdCurveMeter, type ColdCurve } from './cold-curve.js';
import { HARNESS_LAG_P99_MS, type ProcessLoad } from './loop-meter.js';
import type { ProcessCluster } from './process-cluster.js';
import type { Phases } from './scale.js';
import type { SiteCounters } from './site-worker.js';
import type { SyncView } from '../../src/sync/sync-view.js';

/** The scale step's cold start: how the starts are spread, how long it may take, what it cost, and the settling after. */

/** Agents start spread over this at 50 and fewer, as the simulator starts them. */
export const START_SPREAD_MS = 1000;

/**
 * Above 50 agents the starts are spread over 100 ms an agent (20 s at 200): a cold start of N asks
 * ~N(N−1) catch-ups of ~0.7 ms of CPU each (catchup-cost.ts), which 2 cores cannot serve at once, and
 * a loop late by more than a liveness period makes probes of live peers fail, which feeds itself
 * (docs/benchmarks.md). The cold start is timed from the first start, so the spread is in the figure.
 */
export function startSpreadMs(agents: number): number {
  return agents <= 50 ? START_SPREAD_MS : agents * 100;
}

/** 60 s at 50 agents, 180 s above: long enough for a spread start to converge on a shared machine. */
export function coldStartDeadlineMs(agents: number): number {
  return agents <= 50 ? 60_000 : 180_000;
}

/** After the cold start, up to this for every loop to be back under HARNESS_LAG_P99_MS over a window. */
const SETTLE_MAX_MS = 20_000;
const SETTLE_WINDOW_MS = 2_000;

export const worstLag = (loads: ProcessLoad[]) => Math.max(0, ...loads.map((l) => l.lagP99Ms));

/** Windows of 2 s until no process lagged over HARNESS_LAG_P99_MS p99 in one, SETTLE_MAX_MS at most. */
export async function settleLoops(ph: Phases): Promise<number> {
  const t0 = now();
  await ph.end('settle', false);
  do {
    await sleep(SETTLE_WINDOW_MS);
    if (worstLag(await ph.end('settle', false)) <= HARNESS_LAG_P99_MS) break;
  } while (now() - t0 < SETTLE_MAX_MS);
  return now() - t0;
}

/** One unheld pair of the cold start's tail, as its viewer saw it then (SyncView's origin, null if not found). */
export interface TailView {
  ms: number;
  viewer: number;
  origin: string;
  view: SyncView['origin'] | null;
}

/** Unheld pairs inspected a poll (spread over the first TAIL_LISTED unheld), every TAIL_INSPECT_EVERY_MS at most. */
const TAIL_INSPECT_PAIRS = 12;
const TAIL_LISTED = 2_000;
const TAIL_INSPECT_EVERY_MS = 5_000;
const TAIL_VIEWS_MAX = 400;

/**
 * Once the starts are over, why the pairs still unheld are (a sample every few seconds, a few IPC round trips):
 * what the viewer holds of the origin, the version it knows exists, and its catch-up's state. A pair held at
 * version 0 for a minute is a rule, not a load: this names which.
 */
class TailInspector {
  readonly views: TailView[] = [];
  private lastAt = -Infinity;
  private busy = false;

  constructor(
    private readonly pc: ProcessCluster,
    private readonly startedAt: number,
    private readonly spreadMs: number,
  ) {}

  poll(): void {
    const t = now();
    if (this.busy || this.views.length >= TAIL_VIEWS_MAX || t - this.startedAt < this.spreadMs) return;
    if (t - this.lastAt < TAIL_INSPECT_EVERY_MS) return;
    const c = this.pc.pairs(TAIL_LISTED);
    if (c.held === c.total) return;
    this.lastAt = t;
    const step = Math.max(1, Math.floor(c.unheld.length / TAIL_INSPECT_PAIRS));
    const sample = c.unheld.filter((_, k) => k % step === 0).slice(0, TAIL_INSPECT_PAIRS);
    this.busy = true;
    void (async () => {
      for (const [viewer, origin] of sample) {
        const view = (await this.pc.inspect?.(viewer, origin))?.origin ?? null;
        this.views.push({ ms: Math.round(now() - this.startedAt), viewer, origin, view });
      }
    })().finally(() => (this.busy = false));
  }
}

export interface ColdStart {
  ms: number;
  /** The tail's unheld pairs as their viewers saw them (TailInspector). */
  tailViews?: TailView[];
  /** Child processes only: when 50/90/99/100 % of pairs were held, the curve, the tail. */
  curve?: ColdCurve;
  cpuSeconds: number;
  counters?: SiteCounters;
}

/** Until every agent holds every other's devices alive, or the deadline; what it cost in CPU and requests. */
export async function coldStart(cluster: BenchCluster, t0: number, ph: Phases, spreadMs = 0): Promise<ColdStart> {
  const n = cluster.names.length;
  const startedAt = cluster.startedAt ?? t0;
  const pc = 'pairs' in cluster ? (cluster as ProcessCluster) : undefined;
  const meter = pc && new ColdCurveMeter(startedAt, (list) => pc.pairs(list));
  const tail = pc && new TailInspector(pc, startedAt, spreadMs);
  const converged = await waitFor(
    () => {
      meter?.poll();
      tail?.poll();
      return cluster.converged();
    },
    coldStartDeadlineMs(n),
    20,
  );
  const ms = converged === undefined ? Infinity : now() - startedAt;
  const counters = pc ? await pc.counters() : undefined;
  const loads = await ph.end('cold start');
  const agentLoads = cluster.processes ? loads.slice(1) : loads.slice(0, 1);
  const cpuSeconds = agentLoads.reduce((sum, l) => sum + l.cpuSeconds, 0);
  return { ms, cpuSeconds, counters, curve: meter?.result(), tailViews: tail?.views };
}
