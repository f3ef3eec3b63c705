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
