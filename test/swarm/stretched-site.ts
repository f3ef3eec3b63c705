import { SITE_HEARTBEAT_BUDGET, siteBudget } from '../../src/sync/heartbeat-interval.js';
import { runScenario, type SeedResult } from './run-seed.js';
import { multicastSite, type FaultEvent } from './scenario.js';

/**
 * The heartbeat budget (Scenario.heartbeatBudget) that gives a site of `agents` the heartbeat interval of a
 * site of `like` agents at the default budget. An interval is members × heartbeat size / the site's budget
 * (src/sync/heartbeat-interval.ts), so 60 agents budgeted so have the stretched peers of 200, and with them
 * the same slow backstop, at a fifth of the simulation's cost: the findings first made at 200 agents replay
 * at that size within `npm test`'s budget.
 */
export function budgetStretchedLike(agents: number, like: number): number {
  const share = siteBudget(agents) / SITE_HEARTBEAT_BUDGET;
  return (agents * siteBudget(like)) / (like * share);
}

/**
 * A busy agent, as a loaded start's child: its loop stalls 2.5 s every 3 s (or `stallMs` every `everyMs`) and its
 * answers come 3.5 s late.
 */
export function busyAgent(to: string, at: number, until: number, stallMs = 2500, everyMs = 3000): FaultEvent[] {
  return [
    { at, until, kind: 'lag', to, stallMs, everyMs },
    { at, until, kind: 'rpc', to, fault: 'late', share: 1, delayMs: 3500 },
  ];
}

/** One traced seed of `agents` multicast agents (heartbeat 1 s) stretched like 200, quiet 5 s after `faultMs`. */
export function runStretched(
  seed: number,
  agents: number,
  faults: FaultEvent[],
  faultMs: number,
  joinAt?: (i: number) => number,
): Promise<SeedResult> {
  const heartbeatBudget = budgetStretchedLike(agents, 200);
  const plans = multicastSite(agents, joinAt);
  return runScenario(
    { seed, heartbeatMs: 1000, agents: plans, heartbeatBudget, faultMs, quietMs: 5_000, faults },
    true,
  );
}
