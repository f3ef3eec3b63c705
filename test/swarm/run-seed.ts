import { classify } from './classes.js';
import type { Violation, ViolationKind } from './invariants.js';
import { drawScenario, type DrawOptions, type Scenario } from './scenario.js';
import { World } from './world.js';

export interface SeedResult {
  seed: number;
  ok: boolean;
  kinds: ViolationKind[];
  /** Which known class each violation seems to be (see classes.ts). */
  classes: string[];
  violations: Violation[];
  agents: number;
  faults: number;
  agentHours: number;
  trace?: string[];
  /** Per agent, the lost notices it multicast in its last life. */
  noticesSent: Record<string, number>;
}

/** Runs one scenario (a seed's, or a shrunk one) and reports what broke. */
export async function runScenario(scenario: Scenario, traced = false): Promise<SeedResult> {
  const world = new World(scenario, traced);
  const { violations, agentHours, trace, noticesSent } = await world.run();
  const kinds = [...new Set(violations.map((v) => v.kind))].sort();
  return {
    seed: scenario.seed,
    ok: violations.length === 0,
    kinds,
    classes: [...new Set(violations.map((v) => classify(v, scenario, violations)))].sort(),
    violations: violations.slice(0, 20),
    agents: scenario.agents.length,
    faults: scenario.faults.length,
    agentHours,
    noticesSent,
    ...(traced ? { trace } : {}),
  };
}

export function runSeed(seed: number, opts: DrawOptions & { traced?: boolean } = {}): Promise<SeedResult> {
  return runScenario(drawScenario(seed, opts), opts.traced);
}
