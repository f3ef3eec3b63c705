import type { ScenarioEnv } from '../harness.js';
import type { BenchSystem } from '../system.js';
import { swimBaseline } from '../systems/swim.js';
import { processSystem } from './process-cluster.js';
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
  /** --scale-systems herald,swim: only these systems (iterating on one, without the others' minutes). */
  only?: string[];
}

/** Herald's agents in child processes of 50: one event loop of 200 agents measures the loop, not the protocol. */
const herald = processSystem('herald', 'Herald over UDP multicast, agents in child processes of up to 50', true);
const heraldUnscaled = processSystem(
  'herald-unscaled',
  "Herald with heartbeatScaling: false (today's protocol: every agent multicasts a heartbeat each period)",
  false,
);

/** Herald, today's protocol (the baseline ratios divide by) and the SWIM baseline. */
export function scalePlan(sizes: number[], knobs: ScaleKnobFlags = {}): ScalePlan {
  const all = [herald, heraldUnscaled, swimBaseline];
  const systems = knobs.only ? all.filter((s) => knobs.only!.includes(s.name)) : all;
  return { sizes, losses: [0, 0.3], systems, ...knobs };
}

export type ScaleKnobFlags = Pick<ScalePlan, 'spreadMs' | 'processes' | 'only'>;

function positiveFlag(argv: string[], flag: string, integer: boolean): number | undefined {
  const at = argv.indexOf(flag);
  if (at < 0) return undefined;
  const v = Number(argv[at + 1]);
  if (!(v > 0) || (integer && !Number.isInteger(v)))
    throw new RangeError(`${flag}: a positive ${integer ? 'whole ' : ''}number, not "${argv[at + 1]}"`);
  return v;
}

/** --scale-spread-s 20 --scale-processes 8 --scale-systems herald */
export function parseScaleKnobs(argv: string[]): ScaleKnobFlags {
  const spread = positiveFlag(argv, '--scale-spread-s', false);
  const at = argv.indexOf('--scale-systems');
  const only = at < 0 ? undefined : (argv[at + 1] ?? '').split(',');
  const names = [herald.name, heraldUnscaled.name, swimBaseline.name];
  if (only && (only.length === 0 || only.some((n) => !names.includes(n))))
    throw new RangeError(`--scale-systems: a comma-separated list of ${names.join(', ')}, not "${argv[at + 1]}"`);
  return {
    spreadMs: spread === undefined ? undefined : spread * 1000,
    processes: positiveFlag(argv, '--scale-processes', true),
    ...(only && { only }),
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
      progress(`scale: ${system.name}, ${n} agents: cold start, idle, changes at 0 and 30 % loss, crash`);
      results.push(await scaleRun(system, n, plan.losses, env, { spreadMs: plan.spreadMs, processes: plan.processes }));
    }
  }
  return results;
}
