import { MONITORS, Ring } from '../../src/sync/ring.js';
import { seededRandom } from '../../src/util/random.js';
import type { Violation } from './invariants.js';
import type { FaultEvent } from './scenario.js';

type StarveFault = Extract<FaultEvent, { kind: 'starve' }>;

/** How long after it hears again a host that lost a quiet change may still hold the old version. */
export const STARVE_FRESH_MS = 3_000;

/**
 * Noisy origins and a quiet change lost at one host, from a random stream of their own so that the rest of a
 * seed's schedule (and every recorded regression seed) stays what it was (issue 18's starvation): one seed in
 * six, one in two on sites of 40 agents or more (where multicast heartbeats are rare and the ring's hints carry
 * a missed change), has up to 12 origins changing every 200-800 ms for a few seconds; amid them one other
 * origin changes while one host hears no datagram for 0.3-2 s. That host must hold the change within
 * STARVE_FRESH_MS of hearing again (World checks it where no other fault touched that window).
 */
export function drawStarve(seed: number, names: string[], faultMs: number): FaultEvent[] {
  const r = seededRandom(seed ^ 0x57a4fe);
  if (names.length < 3 || r() >= (names.length >= 40 ? 1 / 2 : 1 / 6)) return [];
  const shuffled = [...names].sort(() => r() - 0.5);
  const [origin, viewer, ...rest] = shuffled;
  const noisy = rest.slice(0, Math.min(rest.length, 8 + Math.floor(r() * 5)));
  const at = Math.round(r() * faultMs);
  const until = Math.min(faultMs, at + Math.round(3000 + r() * 9000));
  const everyMs = Math.round(200 + r() * 600);
  const out: FaultEvent[] = [];
  // Each noisy origin at its own phase: their changes are spread over every round, not a burst.
  for (const [i, agent] of noisy.entries())
    for (let t = at + Math.round((everyMs * i) / noisy.length); t < until; t += everyMs)
      out.push({ at: t, kind: 'change', agent, seed: Math.floor(r() * 2 ** 30) + 1 });
  const starveAt = Math.round(at + (until - at) * (0.3 + r() * 0.3));
  const deafMs = Math.round(300 + r() * 1700);
  const quiet: StarveFault = { at: starveAt, kind: 'starve', origin, viewer, deafMs, seed: Math.floor(r() * 2 ** 30) };
  return [...out, quiet];
}

/**
 * Whether another fault of the schedule could explain a slow change in [from, to]: a partition or clock step, or
 * one that touches the viewer, the origin or the viewer's neighbours on the ring (its subjects, which hint to it,
 * and whoever would take their place): a loss, cut, failing request, lag, or leaving or restarting. Changes and
 * registrations cannot: they are the site's ordinary work.
 */
export function otherFaultIn(
  faults: readonly FaultEvent[],
  names: readonly string[],
  window: { from: number; to: number },
  own: StarveFault,
): boolean {
  const ordinary = new Set(['change', 'register', 'renew', 'withdraw', 'health']);
  const global = new Set(['partition', 'clock-step', 'starve', 'storm']);
  const involved = new Set([own.viewer, own.origin, ...new Ring(names).subjectsOf(own.viewer, MONITORS + 2)]);
  return faults.some((f) => {
    if (f === own || ordinary.has(f.kind)) return false;
    const end = 'until' in f ? f.until : f.kind === 'restart' ? f.at + f.downMs : f.at;
    if (f.at > window.to || end < window.from) return false;
    if (global.has(f.kind)) return true;
    return ['to', 'from', 'agent'].some((k) => k in f && involved.has((f as Record<string, unknown>)[k] as string));
  });
}

/** What World tells the watch of the site at a check. */
export interface StarveView {
  running(name: string): boolean;
  upSince(name: string): number;
  incarnation(name: string): number;
  /** What `viewer` holds of `origin`. */
  held(viewer: string, origin: string): { state: string; incarnation: number; version: number } | undefined;
}

interface Pending {
  fault: StarveFault;
  deafUntil: number;
  incarnation: number;
  version: number;
  /** When the viewer was first seen holding it (checked at every step of the world). */
  heldAt?: number;
}

/** The deaf hosts of the starve faults, and the checks that their viewers caught up in time. */
export class StarveWatch {
  private readonly deafUntil = new Map<string, number>();
  private readonly pending: Pending[] = [];

  constructor(
    private readonly faults: readonly FaultEvent[],
    /** Every agent of the site, for the viewer's neighbours on the ring. */
    private readonly names: readonly string[],
  ) {}

  /** Whether datagrams to `address` are lost at `now`. */
  deaf(address: string, now: number): boolean {
    return now < (this.deafUntil.get(address) ?? -Infinity);
  }

  deafen(address: string, until: number): void {
    this.deafUntil.set(address, Math.max(until, this.deafUntil.get(address) ?? -Infinity));
  }

  /** The viewer must hold `origin` at (incarnation, version) within STARVE_FRESH_MS of `deafUntil`. */
  expect(fault: StarveFault, deafUntil: number, incarnation: number, version: number): void {
    this.pending.push({ fault, deafUntil, incarnation, version });
  }

  /** The checks due by `now`: a violation for each viewer still stale where nothing else explains it. */
  due(now: number, view: StarveView, note: (line: string) => void): Violation[] {
    const out: Violation[] = [];
    for (const p of [...this.pending]) {
      const { origin, viewer, at } = p.fault;
      const held = view.running(viewer) ? view.held(viewer, origin) : undefined;
      const holds = held?.state === 'alive' && held.incarnation === p.incarnation && held.version >= p.version;
      if (holds && p.heldAt === undefined) p.heldAt = now;
      if (now < p.deafUntil + STARVE_FRESH_MS) continue;
      this.pending.splice(this.pending.indexOf(p), 1);
      if (otherFaultIn(this.faults, this.names, { from: at - 5_000, to: now }, p.fault)) {
        note(`starve check of ${viewer} skipped: another fault in the window`);
        continue;
      }
      const lives = [origin, viewer].every((n) => view.running(n) && view.upSince(n) <= at);
      if (!lives || view.incarnation(origin) !== p.incarnation) {
        note(`starve check of ${viewer} skipped: ${origin} or ${viewer} restarted or stopped`);
        continue;
      }
      if (p.heldAt !== undefined) {
        note(`starve check: ${viewer} held ${origin} at ${p.version} ${p.heldAt - p.deafUntil} ms after hearing again`);
        continue;
      }
      const detail =
        `${viewer} lost ${origin}'s change to version ${p.version} (deaf ${p.fault.deafMs} ms) and still held ` +
        `${held ? `${held.state} ${held.incarnation}/${held.version}` : 'nothing'} ${STARVE_FRESH_MS} ms after`;
      out.push({ kind: 'slow-change', at: now, viewer, origin, detail });
    }
    return out;
  }
}
