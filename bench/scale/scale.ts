import { now, sleep, waitFor, type ScenarioEnv } from '../harness.js';
import { fullGc, percentile } from '../stats.js';
import type { BenchCluster, BenchSystem, ClusterOptions } from '../system.js';
import { BENCH_GROUP } from '../systems/herald.js';
import { ChangeSequence, changeP99, type ChangeFigures } from './changes.js';
import { GroupListener } from './group-listener.js';

/**
 * The scale step (issue 18): N agents with 10 devices each, in this process on loopback, for each
 * system; what the site puts on the multicast group, what each agent sends and receives, how fast a
 * crash and a change reach everyone, a cold start, and the process's memory and CPU per agent.
 */

export interface ScaleResult {
  system: string;
  agents: number;
  coldStartMs: number;
  /** Site-wide multicast bytes a second while idle, as a passive member of the group counts them. */
  multicastBytesPerSecond: number;
  /** Per agent while idle, unicast and TCP included. */
  sentBytesPerSecondPerAgent: number;
  receivedBytesPerSecondPerAgent: number;
  /** Over the viewers: time from the crash until each shows the crashed agent lost. */
  crashP99Ms: number;
  crashUndetected: number;
  change: ChangeFigures[];
  /**
   * Of this bench process, divided by the agents: an indication, not an agent's own footprint. RSS is
   * the process's growth while the site runs (V8 keeps what an earlier site freed, so it reads 0 there);
   * heap is live JS memory after a full GC, against the same before the site started.
   */
  rssMiBPerAgent: number;
  heapMiBPerAgent: number;
  cpuPercentPerAgent: number;
}

export const SCALE_DEVICES = 10;
const IDLE_SECONDS = 5;

function scaleOptions(agents: number, loss: number, env: ScenarioEnv): Omit<ClusterOptions, 'port'> {
  return { agents, devicesPerAgent: SCALE_DEVICES, loss, heartbeatMs: env.heartbeatMs, seed: 18 };
}

interface IdleFigures {
  multicastBytesPerSecond: number;
  sentBytesPerSecondPerAgent: number;
  receivedBytesPerSecondPerAgent: number;
  rssMiBPerAgent: number;
  heapMiBPerAgent: number;
  cpuPercentPerAgent: number;
}

interface Memory {
  rss: number;
  heap: number;
}

/** After a full GC, so that the heap figure is live data. */
async function memory(): Promise<Memory> {
  await fullGc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

async function idleFigures(c: BenchCluster, listener: GroupListener, mem0: Memory): Promise<IdleFigures> {
  const n = c.names.length;
  const before = c.traffic();
  const heard = listener.bytes;
  const cpu0 = process.cpuUsage();
  const t0 = now();
  await sleep(IDLE_SECONDS * 1000);
  const seconds = (now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = c.traffic();
  const http = after.httpBytes - before.httpBytes;
  const held = await memory();
  return {
    multicastBytesPerSecond: (listener.bytes - heard) / seconds,
    sentBytesPerSecondPerAgent: (after.datagramBytes - before.datagramBytes + http) / seconds / n,
    receivedBytesPerSecondPerAgent: (after.datagramBytesReceived - before.datagramBytesReceived + http) / seconds / n,
    rssMiBPerAgent: Math.max(0, held.rss - mem0.rss) / 2 ** 20 / n,
    heapMiBPerAgent: Math.max(0, held.heap - mem0.heap) / 2 ** 20 / n,
    cpuPercentPerAgent: (((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100) / n,
  };
}

/** Agent 0 crashes: the time until each other agent shows it lost, polled every 10 ms. */
async function crashTimes(c: BenchCluster, timeoutMs: number): Promise<{ p99: number; undetected: number }> {
  const victim = c.names[0];
  const seen = new Map<number, number>();
  await c.crash(0);
  const t0 = now();
  await waitFor(
    () => {
      c.names.forEach((_, v) => {
        if (v !== 0 && !seen.has(v) && c.state(v, victim) === 'lost') seen.set(v, now() - t0);
      });
      return seen.size === c.names.length - 1;
    },
    timeoutMs,
    10,
  );
  const times = [...seen.values()].sort((a, b) => a - b);
  const undetected = c.names.length - 1 - times.length;
  return { p99: undetected > 0 ? Infinity : percentile(times, 99), undetected };
}

/**
 * Changes at each of `losses` on the running site: the loss is set in place (both systems read their
 * options' loss on every datagram), which spares a cold start per loss; back at 0 % it settles again.
 */
async function changesAt(c: BenchCluster, opts: ClusterOptions, losses: number[]): Promise<ChangeFigures[]> {
  const figures: ChangeFigures[] = [];
  const seq = new ChangeSequence(c.names.length);
  for (const loss of losses) {
    opts.loss = loss;
    figures.push(await changeP99(c, loss, seq));
  }
  opts.loss = 0;
  await waitFor(() => c.converged(), 30_000, 20);
  return figures;
}

/** Cold start, idle, changes at each loss, then the crash, all on one site. */
export async function scaleRun(
  system: BenchSystem,
  agents: number,
  losses: number[],
  env: ScenarioEnv,
): Promise<ScaleResult> {
  const mem0 = await memory();
  const opts: ClusterOptions = { ...scaleOptions(agents, 0, env), port: env.ports.next() };
  const listener = await GroupListener.join(BENCH_GROUP, opts.port);
  try {
    const t0 = now();
    const cluster = await system.start(opts);
    try {
      const converged = await waitFor(() => cluster.converged(), 60_000, 20);
      const cold = converged === undefined ? Infinity : now() - t0;
      await sleep(env.heartbeatMs * 2.2); // past the start-up hints, as the idle scenario waits
      const idle = await idleFigures(cluster, listener, mem0);
      const change = await changesAt(cluster, opts, losses);
      const crashed = await crashTimes(cluster, 30_000);
      return finish(system, agents, { cold, idle, change, crashed });
    } finally {
      await cluster.stop();
    }
  } finally {
    listener.close();
  }
}

function finish(
  system: BenchSystem,
  agents: number,
  r: { cold: number; idle: IdleFigures; change: ChangeFigures[]; crashed: { p99: number; undetected: number } },
): ScaleResult {
  return {
    system: system.name,
    agents,
    coldStartMs: r.cold,
    ...r.idle,
    crashP99Ms: r.crashed.p99,
    crashUndetected: r.crashed.undetected,
    change: r.change,
  };
}
