import { seededRandom } from '../../src/util/random.js';
import type { AgentPlan, FaultEvent } from './scenario.js';

/**
 * Agents that move while running: the same process and life at a new address, its sockets bound again there
 * and the old address left vacant (test/helpers/moving-host.ts: a lease renewed to another address, a roam, a
 * VM migrated). From a random stream of its own, so that the rest of a seed's schedule stays what it was: one
 * seed in six moves one to three agents on Herald datagrams alone (the simulated mDNS is bound to an address),
 * each perhaps more than once. Its peers must follow it: no loss past the judge's window (LivenessJudge.moved),
 * every change delivered (the final invariants); test sync-move counts the rounds to the old address.
 */
export function drawMoves(seed: number, agents: readonly AgentPlan[], faultMs: number): FaultEvent[] {
  const r = seededRandom(seed ^ 0x30fe5);
  const eligible = agents.filter((a) => a.mode === 'multicast');
  if (r() >= 1 / 6 || eligible.length < 2) return [];
  const out: FaultEvent[] = [];
  for (let i = 0, n = 1 + Math.floor(r() * 3); i < n; i++) {
    const agent = eligible[Math.floor(r() * eligible.length)].name;
    out.push({ at: Math.round(r() * faultMs), kind: 'move', agent });
  }
  return out;
}

/**
 * When `viewer` could first hear an agent that moved at `movedAt` from its new address: then, or when a deafness to
 * multicast (deaf.ts) that covered the move ended. A deaf viewer hears none of the mover's multicasts from the new
 * address, and probes the old one as any viewer that heard none does (LivenessJudge's one check after a move). Seed
 * 33100216 (--host-faults --max-agents 60): agent-22 deaf 7.5-23 s, agent-48 moved at 12.1 s; lost at its old
 * address at 24.5 s, found 10 ms later at the new one from a summary.
 */
export function heardMoveAt(faults: readonly FaultEvent[], viewer: string, movedAt = -Infinity): number {
  const deaf = faults.filter((f) => f.kind === 'deaf' && f.to === viewer && f.at <= movedAt && f.until > movedAt);
  return Math.max(movedAt, ...deaf.map((f) => ('until' in f ? f.until : movedAt)));
}
