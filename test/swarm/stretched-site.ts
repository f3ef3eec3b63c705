import { SITE_HEARTBEAT_BUDGET, siteBudget } from '../../src/sync/heartbeat-interval.js';

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
