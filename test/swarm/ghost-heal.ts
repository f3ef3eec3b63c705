import { seededRandom } from '../../src/util/random.js';
import type { Violation } from './invariants.js';
import type { AgentPlan, FaultEvent } from './scenario.js';
import type { StarveView } from './starve.js';

type HealCheck = Extract<FaultEvent, { kind: 'heal-check' }>;

/** How long after a partition heals an agent of its far side may still hold a peer that crashed as it began. */
export const HEAL_LOST_MS = 3_000;

/** Partitions drawn here last this long at least: a cut-off shorter than CUT_OFF_PERIODS is not noticed. */
const SHORTEST_MS = 4_000;

/**
 * A crash and, before its monitors' notices go out, a partition that puts some agents on the far side of
 * them (attack9's ghost after a partition): from a random stream of its own, so the rest of a seed's schedule
 * stays what it was. One seed in six, one in three on sites of 24 agents or more (where heartbeats stretch and
 * the backstop takes several intervals). The far side is one agent or 10-50 % of the site, cut off 0-1.5 s
 * after the crash for 4-12 s; HEAL_LOST_MS after the heal none of them may still hold the crashed agent alive
 * (World checks it where no other fault touched that window). Multicast agents only: with mDNS alone the
 * liveness period is ten heartbeats.
 */
export function drawGhostHeal(seed: number, agents: AgentPlan[], faultMs: number): FaultEvent[] {
  const r = seededRandom(seed ^ 0x6e05e);
  const names = agents.filter((a) => a.mode === 'multicast').map((a) => a.name);
  if (names.length < 4 || r() >= (names.length >= 24 ? 1 / 3 : 1 / 6)) return [];
  const [crashed, ...rest] = [...names].sort(() => r() - 0.5);
  const side = rest.slice(0, r() < 0.5 ? 1 : Math.max(1, Math.round(names.length * (0.1 + r() * 0.4))));
  const lastMs = SHORTEST_MS + Math.round(r() * 8_000);
  const crashAt = Math.round(r() * (faultMs - lastMs - 1_500));
  if (crashAt < 0) return [];
  const at = crashAt + Math.round(r() * 1_500);
  const until = at + lastMs;
  return [
    { at: crashAt, kind: 'crash', agent: crashed },
    { at, until, kind: 'partition', side },
    { at: until + HEAL_LOST_MS, kind: 'heal-check', crashed, side, since: crashAt },
  ];
}

/**
 * The far side's agents that still hold the crashed agent alive in the life it crashed in. Skipped (noted)
 * when the crashed agent runs again, or when another fault falls in the window that is global (a partition,
 * a clock step, a storm) or touches the crashed agent or the far side (a loss, a lag, a failing request, a
 * restart...): each may explain a slow loss on its own. Changes and registrations are the site's work.
 */
export function healViolations(
  check: HealCheck,
  faults: readonly FaultEvent[],
  view: StarveView,
  note: (line: string) => void,
): Violation[] {
  const { crashed, side, since, at } = check;
  const global = new Set(['partition', 'clock-step', 'storm']);
  const involved = new Set([crashed, ...side]);
  const own = (f: FaultEvent) =>
    f === check ||
    (f.kind === 'crash' && f.agent === crashed && f.at === since) ||
    (f.kind === 'partition' && f.side === side);
  const other = faults.find((f) => {
    if (own(f) || ['change', 'register', 'renew', 'withdraw', 'health'].includes(f.kind)) return false;
    const end = 'until' in f ? f.until : f.kind === 'restart' ? f.at + f.downMs : f.at;
    if (f.at > at || end < since - 5_000) return false;
    const named = ['to', 'from', 'agent', 'viewer', 'origin'].map((k) => (f as Record<string, unknown>)[k]);
    return global.has(f.kind) || named.some((n) => typeof n === 'string' && involved.has(n));
  });
  if (other || view.running(crashed)) {
    note(`heal check of ${crashed} skipped: ${other ? `a ${other.kind} in the window` : 'it runs again'}`);
    return [];
  }
  const incarnation = view.incarnation(crashed);
  const ghosts = side.filter((viewer) => {
    if (!view.running(viewer) || view.upSince(viewer) > since) return false;
    const held = view.held(viewer, crashed);
    return held?.state === 'alive' && held.incarnation === incarnation;
  });
  note(`heal check of ${crashed}: ${ghosts.length} of ${side.length} still hold it alive`);
  return ghosts.map((viewer) => ({
    kind: 'slow-heal',
    at,
    viewer,
    origin: crashed,
    detail: `${viewer} still holds ${crashed} (crashed at ${since} ms) alive ${HEAL_LOST_MS} ms after the heal`,
  }));
}
