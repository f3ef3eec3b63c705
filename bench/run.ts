import { cpus, release, totalmem } from 'node:os';
import { HEARTBEAT_MS, stepCount, type BenchOptions, type Plan } from './plan.js';
import {
  coldStart,
  crash,
  idle,
  propagation,
  type ColdStartResult,
  type CrashResult,
  type IdleResult,
  type PropagationResult,
} from './scenarios.js';
import { junkFlood, type FloodResult } from './flood.js';
import { PortSequence, type ScenarioEnv } from './harness.js';
import { protocolCpuPair } from './protocol-cpu.js';
import { serviceTargets, type ServiceResults } from './service-targets.js';
import { fullGc } from './stats.js';
import { startHerald } from './systems/herald.js';
import type { ScaleResult } from './scale/scale.js';
import { runScale } from './scale/step.js';
import { site1000Step } from './footprint-1000.js';
import { catchUpCost, type CatchUpCost } from './scale/catchup-cost.js';

/** What one run measured; its shape is the `results` key of bench-results/latest.json. */
export interface ScenarioResults {
  propagation: PropagationResult[];
  idle: IdleResult[];
  coldStart: ColdStartResult[];
  crash: CrashResult[];
  flood: FloodResult | undefined;
  authCost: { open: number[]; keyed: number[] };
  /** The scale step's rows, one a system and size (empty when the plan has no scale step). */
  scale: ScaleResult[];
  /** CPU per catch-up on each side, measured with the scale step: what a cold start of N costs, ~N(N−1) of them. */
  catchUpCost?: CatchUpCost;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  date: string;
  mode: 'quick' | 'full';
  heartbeatMs: number;
}

/** One whole run: its plan, the machine it ran on and every figure, as the report and targets read them. */
export interface BenchRun {
  options: BenchOptions;
  plan: Plan;
  machine: Machine;
  results: ScenarioResults;
  service: ServiceResults;
}

type Progress = (what: string) => void;

/** A one-line progress report on stderr: step, elapsed seconds, what runs now. */
export function progressLine(total: number, started: number): Progress {
  let step = 0;
  return (what) => {
    step += 1;
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    process.stderr.write(`\r\x1b[K[${String(step).padStart(2)}/${total}] ${elapsed.padStart(4)} s  ${what}`);
  };
}

async function runSystems(plan: Plan, env: ScenarioEnv, results: ScenarioResults, progress: Progress): Promise<void> {
  for (const { system, sizes, losses, lifecycle } of plan.systems) {
    for (const n of sizes) {
      if (lifecycle) {
        progress(`${system.name}: idle, ${n} agents`);
        results.idle.push(await idle(system, n, plan.idleSeconds, env));
        progress(`${system.name}: cold start, ${n} agents`);
        results.coldStart.push(await coldStart(system, n, env));
        progress(`${system.name}: crash, ${n} agents`);
        results.crash.push(await crash(system, n, env));
      }
      for (const loss of losses) {
        progress(`${system.name}: ${plan.changes} changes, ${n} agents, ${loss * 100} % loss`);
        results.propagation.push(await propagation(system, n, loss, plan.changes, plan.intervalMs, env));
      }
    }
  }
}

async function runAuthPairs(plan: Plan, results: ScenarioResults, progress: Progress): Promise<void> {
  const { pairs, agents, changes } = plan.authPairs;
  // A discarded pair first: the JIT warms up on it, not inside the first pair (the keyed side's own code, the
  // HMAC and the keyed branches, was otherwise compiled in the first keyed run, and only keyed results paid).
  await protocolCpuPair(agents, 100);
  for (let pair = 0; pair < pairs; pair++) {
    // Both sites' changes interleaved one at a time within the pair (protocol-cpu.ts): run one after the other,
    // a drift of the machine's load between the two moved one pair's ratio ±5 points (gc16, cpu18).
    progress(`authentication cost: open and keyed interleaved, ${agents} agents in memory each, pair ${pair + 1}`);
    await fullGc();
    const cost = await protocolCpuPair(agents, changes, pair % 2 === 1);
    results.authCost.open.push(cost.open);
    results.authCost.keyed.push(cost.keyed);
  }
}

async function runFlood(plan: Plan, env: ScenarioEnv, progress: Progress): Promise<FloodResult | undefined> {
  if (!plan.flood) return undefined;
  const { agents, junkPerSecond, seconds } = plan.flood;
  progress(`herald-keyed: ${junkPerSecond} junk datagrams/s, ${agents} agents`);
  return junkFlood(
    (o, keys) => startHerald(o, 'multicast', { keys, apiOnFirst: true }),
    agents,
    junkPerSecond,
    seconds,
    env,
  );
}

function machineOf(quick: boolean): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    heartbeatMs: HEARTBEAT_MS,
  };
}

/** Every step of the plan, in the order the bench has always run them. */
export async function runBench(options: BenchOptions, plan: Plan): Promise<BenchRun> {
  const started = Date.now();
  const progress = progressLine(stepCount(plan, options.quick, options.only), started);
  const results: ScenarioResults = {
    propagation: [],
    idle: [],
    coldStart: [],
    crash: [],
    flood: undefined,
    authCost: { open: [], keyed: [] },
    scale: [],
  };
  // One sequence of ports for the whole run, so that no cluster hears an earlier one.
  const env: ScenarioEnv = { heartbeatMs: HEARTBEAT_MS, ports: new PortSequence() };
  const all = options.only === undefined;
  if (all) {
    await runSystems(plan, env, results, progress);
    await runAuthPairs(plan, results, progress);
    results.flood = await runFlood(plan, env, progress);
  }
  // Alone (--only auth), the pairs run in a process that has done nothing else, unlike in a whole run.
  if (options.only === 'auth') await runAuthPairs(plan, results, progress);
  if (all || options.only === 'scale') {
    results.scale = await runScale(plan.scale, env, progress);
    if (plan.scale) results.catchUpCost = await catchUpCost();
  }
  const service =
    all || options.only === 'footprint'
      ? await serviceTargets({ ...options, progress, footprintOnly: options.only === 'footprint' })
      : { skipped: ['service targets (--only)'] };
  if (all || options.only === 'footprint-1000') {
    const { site1000, skipped } = await site1000Step(options.quick && all, progress);
    if (site1000) service.site1000 = site1000;
    if (skipped) service.skipped.push(skipped);
  }
  process.stderr.write(`\r\x1b[Kdone in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return { options, plan, machine: machineOf(options.quick), results, service };
}
