import { Ring } from '../../src/sync/ring.js';
import { runScenario, type SeedResult } from '../swarm/run-seed.js';
import { multicastSite, type FaultEvent } from '../swarm/scenario.js';
import { budgetStretchedLike } from '../swarm/stretched-site.js';

/**
 * attack15's schedule (rejoin-late-loop-ghost), shared by the attacks on Rejoin's digest compare: 40 agents with
 * the heartbeat intervals of 200 (stretched-site.ts), agent-3 cut off from some peers from CUT to HEAL, its loop
 * late (LATE_LOOP) or on time.
 */
export const SITE = 40;
export const VIEWER = 'agent-3';
export const CUT = 15_000;
export const HEAL = 30_000;
export const names = multicastSite(SITE).map((a) => a.name);
export const ring = new Ring(names);
/** The peer agent-3 watches: its heartbeats stop at the cut, its probes time out. */
export const SUBJECT = ring.subjectsOf(VIEWER)[0];
/** agent-3's next subjects (it watches them once it loses SUBJECT) and its monitors: not touched. */
const NEAR = new Set([VIEWER, ...ring.subjectsOf(VIEWER, 4), ...ring.monitorsOf(VIEWER)]);

/** agent-3's loop stalling 1 s every 3 s (test/sync-rejoin-reasons's late loop). */
export const LATE_LOOP: FaultEvent = { at: 10_000, until: HEAL, kind: 'lag', to: VIEWER, stallMs: 1000, everyMs: 3000 };

/** A peer far from agent-3 on the ring whose monitors are too, and not one of `also`. */
export function farPeer(also: string[] = []): string {
  return names.find((n) => !NEAR.has(n) && !also.includes(n) && ring.monitorsOf(n).every((m) => !NEAR.has(m)))!;
}

/** Both ways between `a` and `b`, CUT to HEAL. */
export function cutBoth(a: string, b: string): FaultEvent[] {
  return [
    { at: CUT, until: HEAL, kind: 'cut', from: a, to: b },
    { at: CUT, until: HEAL, kind: 'cut', from: b, to: a },
  ];
}

/** The schedule run with these faults (seed 21), traced; 12 s quiet after it. */
export function runCut(faults: FaultEvent[]): Promise<SeedResult> {
  const agents = multicastSite(SITE);
  const heartbeatBudget = budgetStretchedLike(SITE, 200);
  return runScenario(
    { seed: 21, heartbeatMs: 1000, agents, heartbeatBudget, faultMs: HEAL + 1000, quietMs: 12_000, faults },
    true,
  );
}
