import type { ScenarioEnv } from '../harness.js';
import type { BenchSystem } from '../system.js';
import { heraldMulticast, heraldUnscaled } from '../systems/herald.js';
import { swimBaseline } from '../systems/swim.js';
import { lossyChanges, scaleRun, type ScaleResult } from './scale.js';

/** The scale step's plan: the sizes, the systems side by side, the losses changes are measured at. */
export interface ScalePlan {
  sizes: number[];
  losses: number[];
  systems: BenchSystem[];
}

/** Herald, today's protocol (the baseline ratios divide by) and the SWIM baseline. */
export function scalePlan(sizes: number[]): ScalePlan {
  return { sizes, losses: [0, 0.3], systems: [heraldMulticast, heraldUnscaled, swimBaseline] };
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
  return plan ? plan.sizes.length * plan.systems.length * plan.losses.length : 0;
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
      progress(`scale: ${system.name}, ${n} agents: cold start, idle, changes, crash`);
      const r = await scaleRun(system, n, env);
      for (const loss of plan.losses.filter((l) => l > 0)) {
        progress(`scale: ${system.name}, ${n} agents: changes at ${loss * 100} % loss`);
        r.change.push(await lossyChanges(system, n, loss, env));
      }
      results.push(r);
    }
  }
  return results;
}
