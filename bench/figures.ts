import type { ColdStartResult, CrashResult, IdleResult, PropagationResult } from './scenarios.js';
import type { ScenarioResults } from './run.js';
import { median } from './stats.js';

/** Finding one system's figures in a run's results, for the tables, the targets and the README. */

export function propagationOf(
  results: ScenarioResults,
  system: string,
  agents: number,
  loss: number,
): PropagationResult | undefined {
  return results.propagation.find((r) => r.system === system && r.agents === agents && r.loss === loss);
}

export interface Lifecycle {
  idle: IdleResult | undefined;
  coldStart: ColdStartResult | undefined;
  crash: CrashResult | undefined;
}

export function lifecycleOf(results: ScenarioResults, system: string, agents: number): Lifecycle {
  const of = <R extends { system: string; agents: number }>(rs: R[]) =>
    rs.find((r) => r.system === system && r.agents === agents);
  return { idle: of(results.idle), coldStart: of(results.coldStart), crash: of(results.crash) };
}

/** Keyed CPU per change over open, medians of the alternating pairs. */
export function keyedCpuRatio(results: ScenarioResults): number | undefined {
  const { open, keyed } = results.authCost;
  return open.length && keyed.length ? median(keyed) / median(open) : undefined;
}
