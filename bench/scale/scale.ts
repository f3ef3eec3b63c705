import { now, sleep, waitFor, type ScenarioEnv } from '../harness.js';
import type { BenchCluster, BenchSystem, ClusterOptions } from '../system.js';
import { BENCH_GROUP } from '../systems/herald.js';
import { ChangeSequence, changeP99, type ChangeFigures } from './changes.js';
import { scaleChildFlags } from './child-flags.js';
import { GroupListener } from './group-listener.js';
import { HARNESS_LAG_P99_MS, LoopMeter, type ProcessLoad } from './loop-meter.js';
import type { SiteCounters } from './site-worker.js';
import { crashTimes } from './crash-times.js';
import { idleFigures, memory, pastTheWake, quietExchanges, type IdleFigures, type IdleReceived } from './idle.js';
import { coldStart, settleLoops, startSpreadMs, worstLag, type ColdStart } from './cold-start.js';

/**
 * The scale step (issue 18): N agents with 10 devices each on loopback, for each system (Herald in
 * child processes of 50 agents, the others in this process), started spread (cold-start.ts); what the
 * site puts on the multicast group, what each agent sends and receives, how fast a crash and a change
 * reach everyone, a cold start, and the process's memory and CPU per agent.
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
  /** Child processes the agents ran in (0: in the bench process). */
  processes: number;
  /** The Node flags the children ran with (child-flags.ts), beside the bench's own execArgv. */
  childFlags?: string[];
  /** From the first fork until every child had loaded its modules (before the cold start's clock). */
  processStartMs?: number;
  /** Each process's event-loop delay and CPU in each phase (cold start, idle, changes, crash). */
  phases: PhaseLoad[];
  /** Some process's loop lagged > 50 ms p99 in a phase: its figures measure the harness too. */
  harnessLimited: boolean;
  /**
   * The measured phases in which some process lagged > 50 ms p99: a figure taken in one of them
   * (idle: bytes, RSS, CPU; changes at a loss; crash) measures the harness too; the others are real.
   */
  limitedPhases: string[];
  /** The starts were spread over this. */
  startSpreadMs: number;
  /** CPU seconds the agents' processes spent from the first start until convergence or the deadline. */
  coldStartCpuSeconds: number;
  /** The site's repair counters at the end of the cold start, summed over agents (child processes only). */
  coldStartCounters?: SiteCounters;
  /** When 50/90/99/100 % of (viewer, origin) pairs were held, the share each second, the last pairs (cold-curve.ts). */
  coldStartCurve?: ColdStart['curve'];
  /** The cold start's tail pairs as their viewers saw them (cold-start.ts TailInspector). */
  coldStartTailViews?: ColdStart['tailViews'];
  /**
   * How long the bench waited after the cold start for the site's view exchanges to stop (idle.ts) and every
   * loop to be back under 50 ms p99.
   */
  settleMs: number;
  /** The counters' growth while the bench waited for the view exchanges to stop (idle.ts quietExchanges). */
  quietCounters?: SiteCounters;
  /** The same counters' growth over the idle window: what the idle bytes were (probes, catch-ups). */
  idleCounters?: SiteCounters;
  /** Idle bytes per agent without the IP/UDP/TCP headers, as the simulator counts them. */
  idlePayload?: { sentBytesPerSecondPerAgent: number; receivedBytesPerSecondPerAgent: number };
  /** The idle window's length: between the two readings of every child's counters (IPC rounds included). */
  idleSeconds?: number;
  /** What the idle received bytes were, per agent a second on the wire, and the exchanges counted. */
  idleReceived?: IdleReceived;
}

export type PhaseLoad = { phase: string; loads: ProcessLoad[] };

export const SCALE_DEVICES = 10;

/** Overrides of the defaults above (--scale-spread-s, --scale-processes, --scale-agents-per-process). */
export interface ScaleKnobs {
  spreadMs?: number;
  processes?: number;
  agentsPerProcess?: number;
}

function scaleOptions(agents: number, env: ScenarioEnv, knobs: ScaleKnobs): Omit<ClusterOptions, 'port'> {
  return {
    agents,
    devicesPerAgent: SCALE_DEVICES,
    loss: 0,
    heartbeatMs: env.heartbeatMs,
    seed: 18,
    startSpreadMs: knobs.spreadMs ?? startSpreadMs(agents),
    processes: knobs.processes,
    agentsPerProcess: knobs.agentsPerProcess,
  };
}

/** The phase that ends now, in every process; the idle figures read CPU and RSS off the idle phase. */
export class Phases {
  readonly list: PhaseLoad[] = [];
  private at = now();
  constructor(
    private readonly c: BenchCluster,
    private readonly bench: LoopMeter,
    private readonly trace?: (line: string) => void,
  ) {}

  /** `record` false for the waits between measurements: they only start the next phase. */
  async end(phase: string, record = true): Promise<ProcessLoad[]> {
    const loads = [this.bench.sample(), ...((await this.c.loads?.()) ?? [])];
    if (record) this.list.push({ phase, loads });
    const lag = Math.max(...loads.map((l) => l.lagP99Ms));
    this.trace?.(`${phase}: ${((now() - this.at) / 1000).toFixed(1)} s, worst loop lag p99 ${lag.toFixed(0)} ms`);
    this.at = now();
    return loads;
  }
}

/**
 * Changes at each of `losses` on the running site: the loss is set in place (both systems read their
 * options' loss on every datagram), which spares a cold start per loss; back at 0 % it settles again
 * (when it converged once).
 */
async function changesAt(c: BenchCluster, opts: ClusterOptions, losses: number[], ph: Phases, converged: boolean) {
  const figures: ChangeFigures[] = [];
  const seq = new ChangeSequence(c.names.length);
  const setLoss = async (loss: number) => {
    opts.loss = loss;
    await c.setLoss?.(loss);
  };
  for (const loss of losses) {
    await setLoss(loss);
    figures.push(await changeP99(c, loss, seq));
    await ph.end(`changes at ${loss * 100} %`);
  }
  await setLoss(0);
  // A site that never converged from its cold start will not in 30 s either: the bench's time is spared.
  if (converged) await waitFor(() => c.converged(), 30_000, 20);
  await ph.end('settle', false);
  return figures;
}

/** Cold start, idle, changes at each loss, then the crash, all on one site. */
export async function scaleRun(
  system: BenchSystem,
  agents: number,
  losses: number[],
  env: ScenarioEnv,
  knobs: ScaleKnobs = {},
  trace?: (line: string) => void,
): Promise<ScaleResult> {
  const mem0 = await memory();
  const opts: ClusterOptions = { ...scaleOptions(agents, env, knobs), port: env.ports.next() };
  const listener = await GroupListener.join(BENCH_GROUP, opts.port);
  const bench = new LoopMeter('bench');
  try {
    const t0 = now();
    const cluster = await system.start(opts);
    try {
      const ph = new Phases(cluster, bench, trace);
      await cluster.loads?.(); // the children's own start-up is not a phase
      const cold = await coldStart(cluster, t0, ph, opts.startSpreadMs ?? 0);
      await sleep(env.heartbeatMs * 2.2); // past the start-up hints, as the idle scenario waits
      listener.mark(); // who multicasts on the settled site (idle.ts multicastSenders)
      const quiet = await quietExchanges(cluster);
      const settleMs = (await settleLoops(ph)) + quiet.ms + (await pastTheWake(listener));
      const idle = await idleFigures(cluster, listener, mem0, ph);
      const change = await changesAt(cluster, opts, losses, ph, Number.isFinite(cold.ms));
      const crashed = await crashTimes(cluster, 30_000);
      await ph.end('crash');
      const processes = cluster.processes ?? 0;
      const processStartMs = processes > 0 ? (cluster.startedAt ?? t0) - t0 : 0;
      const ran = { cold, idle, change, crashed, processes, processStartMs, ph, settleMs, opts, quiet: quiet.counters };
      return finish(system, agents, ran);
    } finally {
      await cluster.stop();
    }
  } finally {
    bench.stop();
    listener.close();
  }
}

function finish(
  system: BenchSystem,
  agents: number,
  r: {
    cold: ColdStart;
    idle: IdleFigures;
    change: ChangeFigures[];
    crashed: { p99: number; undetected: number };
    processes: number;
    processStartMs: number;
    ph: Phases;
    settleMs: number;
    opts: ClusterOptions;
    quiet?: SiteCounters;
  },
): ScaleResult {
  const limitedPhases = r.ph.list.filter((p) => worstLag(p.loads) > HARNESS_LAG_P99_MS).map((p) => p.phase);
  return {
    system: system.name,
    agents,
    coldStartMs: r.cold.ms,
    coldStartCpuSeconds: r.cold.cpuSeconds,
    coldStartCounters: r.cold.counters,
    coldStartCurve: r.cold.curve,
    coldStartTailViews: r.cold.tailViews,
    startSpreadMs: r.opts.startSpreadMs ?? 0,
    settleMs: r.settleMs,
    quietCounters: r.quiet,
    ...r.idle,
    crashP99Ms: r.crashed.p99,
    crashUndetected: r.crashed.undetected,
    change: r.change,
    processes: r.processes,
    ...(r.processes > 0 && { childFlags: scaleChildFlags() }),
    processStartMs: r.processStartMs,
    phases: r.ph.list,
    harnessLimited: limitedPhases.length > 0,
    limitedPhases,
  };
}
