import type { ScenarioEnv } from '../harness.js';
import type { BenchSystem } from '../system.js';
import { swimBaseline } from '../systems/swim.js';
import { processSystem, SHARED_LOOPS, type Layout } from './process-cluster.js';
import { scaleRun, type ScaleResult } from './scale.js';

/** The scale step's plan: the sizes, the systems side by side, the losses changes are measured at. */
export interface ScalePlan {
  sizes: number[];
  losses: number[];
  systems: BenchSystem[];
  /** --scale-spread-s: the starts spread over this instead of startSpreadMs(N). */
  spreadMs?: number;
  /** --scale-processes: Herald's child processes instead of processCount(N). */
  processes?: number;
  /** --scale-agents-per-process: Herald's agents a child process instead of one (herald-shared keeps 50). */
  agentsPerProcess?: number;
  /** --scale-systems herald,swim: only these systems (iterating on one, without the others' minutes). */
  only?: string[];
}

/** --scale-losses 0,0.3,0.3,0.3: the change phases' losses (one site; each phase makes 20 changes). */
export function parseScaleLosses(argv: string[]): { losses?: number[] } {
  const at = argv.indexOf('--scale-losses');
  if (at < 0) return {};
  const losses = (argv[at + 1] ?? '').split(',').map(Number);
  if (losses.some((l) => !(l >= 0 && l < 1)))
    throw new RangeError(`--scale-losses: a comma-separated list of losses from 0 to below 1, not "${argv[at + 1]}"`);
  return { losses };
}

/**
 * Herald's layout by default: 50 agents a child. One agent a process (a deployment's layout), 5 and 10
 * were measured at 200 agents beside it (cold11): on 2 cores each cost 1.9-2.5 times its CPU and none
 * converged sooner (docs/benchmarks.md, "The 200 step's layout"). --scale-agents-per-process sets another.
 */
export const HERALD_LAYOUT: Layout = SHARED_LOOPS;
const herald = processSystem('herald', 'Herald over UDP multicast, agents in child processes', true, HERALD_LAYOUT);
const heraldUnscaled = processSystem(
  'herald-unscaled',
  "Herald with heartbeatScaling: false (today's protocol: every agent multicasts a heartbeat each period)",
  false,
  HERALD_LAYOUT,
);
/** The layout before cold11, kept beside the new one in the same run: 50 agents share an event loop. */
const heraldShared = processSystem(
  'herald-shared',
  'Herald as `herald`, 50 agents a child process (at most 4): the layout before cold11',
  true,
  SHARED_LOOPS,
  false,
);
/**
 * `herald` with a cluster key: signed announcements are applied as they come, where an open site's agents each
 * fetch every newcomer's set from its endpoint to verify it (~N(N-1)/2 catch-ups and as many hellos in a cold start).
 */
const heraldKeyed = processSystem(
  'herald-keyed',
  'Herald as `herald` with a cluster key: every datagram and peer request signed (HMAC-SHA256)',
  true,
  HERALD_LAYOUT,
  true,
  true,
);
const SYSTEMS = [herald, heraldUnscaled, heraldShared, heraldKeyed, swimBaseline];
/** herald-shared (the old layout) and herald-keyed (a keyed site) run when named. */
const DEFAULT_SYSTEMS = [herald, heraldUnscaled, swimBaseline];

/**
 * Herald, today's protocol (the baseline ratios divide by) and the SWIM baseline; `--scale-systems`
 * may name herald-shared too, to measure a `--scale-agents-per-process` layout beside the old one.
 */
export function scalePlan(sizes: number[], knobs: ScaleKnobFlags = {}): ScalePlan {
  const systems = knobs.only ? SYSTEMS.filter((s) => knobs.only!.includes(s.name)) : DEFAULT_SYSTEMS;
  return { sizes, losses: [0, 0.3], systems, ...knobs };
}

export type ScaleKnobFlags = Pick<ScalePlan, 'spreadMs' | 'processes' | 'agentsPerProcess' | 'only'> & {
  losses?: number[];
};

function positiveFlag(argv: string[], flag: string, integer: boolean): number | undefined {
  const at = argv.indexOf(flag);
  if (at < 0) return undefined;
  const v = Number(argv[at + 1]);
  if (!(v > 0) || (integer && !Number.isInteger(v)))
    throw new RangeError(`${flag}: a positive ${integer ? 'whole ' : ''}number, not "${argv[at + 1]}"`);
  return v;
}

/** --scale-spread-s 20 --scale-processes 8 --scale-agents-per-process 5 --scale-systems herald */
export function parseScaleKnobs(argv: string[]): ScaleKnobFlags {
  const spread = positiveFlag(argv, '--scale-spread-s', false);
  const at = argv.indexOf('--scale-systems');
  const only = at < 0 ? undefined : (argv[at + 1] ?? '').split(',');
  const names = SYSTEMS.map((s) => s.name);
  if (only && (only.length === 0 || only.some((n) => !names.includes(n))))
    throw new RangeError(`--scale-systems: a comma-separated list of ${names.join(', ')}, not "${argv[at + 1]}"`);
  return {
    spreadMs: spread === undefined ? undefined : spread * 1000,
    processes: positiveFlag(argv, '--scale-processes', true),
    agentsPerProcess: positiveFlag(argv, '--scale-agents-per-process', true),
    ...(only && { only }),
    ...parseScaleLosses(argv),
  };
}

/** --scale-sizes 50,200 */
export function parseScaleSizes(argv: string[], fallback: number[]): number[] {
  const at = argv.indexOf('--scale-sizes');
  if (at < 0) return fallback;
  const sizes = (argv[at + 1] ?? '').split(',').map(Number);
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 2))
    throw new RangeError(`--scale-sizes: a comma-separated list of agent counts of 2 or more, not "${argv[at + 1]}"`);
  return sizes;
}

export function scaleStepCount(plan: ScalePlan | undefined): number {
  return plan ? plan.sizes.length * plan.systems.length : 0;
}

export async function runScale(
  plan: ScalePlan | undefined,
  env: ScenarioEnv,
  progress: (what: string) => void,
): Promise<ScaleResult[]> {
  if (!plan) return [];
  const results: ScaleResult[] = [];
  for (const n of plan.sizes) {
    for (const system of plan.systems) {
      const at = plan.losses.map((l) => l * 100).join(', ');
      progress(`scale: ${system.name}, ${n} agents: cold start, idle, changes at ${at} % loss, crash`);
      const { spreadMs, processes, agentsPerProcess } = plan;
      results.push(await scaleRun(system, n, plan.losses, env, { spreadMs, processes, agentsPerProcess }));
    }
  }
  return results;
}
