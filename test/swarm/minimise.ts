import type { ViolationKind } from './invariants.js';
import { runScenario } from './run-seed.js';
import type { FaultEvent, Scenario } from './scenario.js';

/**
 * Shrinks a failing scenario's fault list by delta debugging (Zeller's ddmin): drops chunks of faults
 * while the run still breaks one of the same invariants, down to a list where removing any single
 * fault makes the failure go away (or the run budget is spent). A shrunk schedule must still break
 * every invariant in `kinds`. The site itself stays as drawn.
 */
export async function minimise(
  scenario: Scenario,
  kinds: readonly ViolationKind[],
  opts: { maxRuns?: number; onStep?: (faults: number, runs: number) => void } = {},
): Promise<{ scenario: Scenario; runs: number }> {
  const maxRuns = opts.maxRuns ?? 400;
  let runs = 0;
  const fails = async (faults: FaultEvent[]): Promise<boolean> => {
    runs += 1;
    const result = await runScenario({ ...scenario, faults });
    return kinds.every((k) => result.kinds.includes(k));
  };
  let current = scenario.faults;
  let n = 2;
  while (current.length >= 1 && runs < maxRuns) {
    const size = Math.ceil(current.length / n);
    let reduced = false;
    for (let i = 0; i < current.length && runs < maxRuns; i += size) {
      const complement = [...current.slice(0, i), ...current.slice(i + size)];
      if (await fails(complement)) {
        current = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
        opts.onStep?.(current.length, runs);
        break;
      }
    }
    if (!reduced) {
      if (size <= 1) break;
      n = Math.min(current.length, n * 2);
    }
  }
  return { scenario: { ...scenario, faults: current }, runs };
}
