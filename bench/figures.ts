import type { ColdStartResult, CrashResult, IdleResult, PropagationResult } from './scenarios.js';
import type { ScenarioResults } from './run.js';
import { median, percentile } from './stats.js';

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

/**
 * Keyed CPU per change over open: the median of each pair's ratio (keyed ÷ open of the same pair, run back to
 * back). The ratio of the two medians, used before gc16, paired a keyed run with an open one of another
 * moment of the machine's load; it read +8, +17 and +15 % in three full benches of the same code.
 */
export function keyedCpuRatio(results: ScenarioResults): number | undefined {
  const ratios = pairRatios(results);
  return ratios.length > 0 ? median(ratios) : undefined;
}

/** Each pair's keyed ÷ open, in the order run. */
export function pairRatios(results: ScenarioResults): number[] {
  const { open, keyed } = results.authCost;
  return keyed.slice(0, open.length).map((k, i) => k / open[i]);
}

/** The pairs' ratios: lowest, quartiles and highest, so that a reader sees how far one figure may move. */
export function keyedCpuSpread(results: ScenarioResults): { min: number; p25: number; p75: number; max: number } {
  const sorted = pairRatios(results).sort((a, b) => a - b);
  return { min: sorted[0], p25: percentile(sorted, 25), p75: percentile(sorted, 75), max: sorted.at(-1)! };
}
