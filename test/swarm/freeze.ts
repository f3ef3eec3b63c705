import { seededRandom } from '../../src/util/random.js';
import type { Violation } from './invariants.js';
import type { AgentPlan, FaultEvent } from './scenario.js';

type FreezeFault = Extract<FaultEvent, { kind: 'freeze' }>;

/** A frozen agent must be lost by every viewer the schedule leaves alone within this of its freeze (a vanished host). */
export const FROZEN_LOST_WITHIN_MS = 10_000;
/** ...and alive at every such viewer again within this of its resume. */
export const THAWED_ALIVE_WITHIN_MS = 15_000;
/** Requests the thawed agent may make in its first THAW_WINDOW_MS, beyond one per peer it knows: no storm. */
export const THAW_REQUESTS_SLACK = 8;
/**
 * ...and beyond those, per peer that moved to a new address while it was frozen: it is asked once where it was (its
 * datagrams sent before the move, read at the resume, name changes there; or its silence drew a probe there), then
 * probed where it is before its catch-up goes there. Neither can be known beforehand, so neither is a storm: seed
 * 32000208 (host faults; 10 peers, 3 moved, 5 restarted 14 times in the 16 s frozen) made 19 requests, each to a
 * different endpoint or for a different origin, 3 of them refused at an old address, 3 probes at a new one.
 */
export const THAW_REQUESTS_PER_MOVE = 2;
const THAW_WINDOW_MS = 2_000;

/**
 * A whole host frozen 5-60 s (SIGSTOP, a VM suspended, a Pi's SD card stalling), then resumed with everything
 * queued delivered at once: its timers fire at the resume, the datagrams that reached it meanwhile are read
 * then, requests to it are answered then (the kernel accepted the connection; the process read nothing), so a
 * prober's deadline runs out first. From a random stream of its own, so that the rest of a seed's schedule stays
 * what it was: one seed in eight, one agent on Herald datagrams alone (the simulated mDNS would go on answering).
 * A freeze may outlast the drawn fault window: the scenario's window is stretched to its end (scenario.ts).
 * Not modelled: what the frozen agent's peer service does on a request besides answering (a probe back) runs
 * at once, as a lagging agent's does (lag.ts).
 */
export function drawFreeze(seed: number, agents: readonly AgentPlan[], faultMs: number): FaultEvent[] {
  const r = seededRandom(seed ^ 0xf4ee2e);
  const eligible = agents.filter((a) => a.mode === 'multicast');
  if (r() >= 1 / 8 || eligible.length < 2) return [];
  const to = eligible[Math.floor(r() * eligible.length)].name;
  const at = Math.round(r() * faultMs);
  const until = at + Math.round(5000 + r() * 55_000);
  return [{ at, until, kind: 'freeze', to }];
}

/** The stalls a freeze puts on `agent`'s loop, as lag faults (lag.ts): one, the freeze's whole length. */
export function freezeStalls(faults: readonly FaultEvent[], agent: string) {
  return faults
    .filter((f): f is FreezeFault => f.kind === 'freeze' && f.to === agent)
    .map((f) => ({ at: f.at, until: f.until, stallMs: f.until - f.at, everyMs: f.until - f.at, phase: 0 }));
}

export interface FreezeView {
  running(name: string): boolean;
  upSince(name: string): number;
  incarnation(name: string): number;
  held(viewer: string, origin: string): { incarnation: number; state: string } | undefined;
  /** Peer requests the agent made so far (probes, catch-ups, view exchanges), and the peers it knows. */
  requests(name: string): number;
  known(name: string): number;
}

/**
 * Checks each freeze: lost by FROZEN_LOST_WITHIN_MS, alive again by THAWED_ALIVE_WITHIN_MS after the resume, at
 * each running viewer that no other fault touched from before the freeze to the last check (and only if none
 * touched the frozen agent); and at most one request per known peer (+ THAW_REQUESTS_SLACK, + THAW_REQUESTS_PER_MOVE
 * per peer that moved meanwhile) in the resume's first THAW_WINDOW_MS (a storm of probes or summaries at the resume).
 */
export class FreezeWatch {
  private readonly pending: { f: FreezeFault; at: number; what: 'lost' | 'alive' | 'thaw' | 'thawed' }[] = [];
  private thawFrom = new Map<FreezeFault, number>();

  constructor(
    private readonly faults: readonly FaultEvent[],
    private readonly names: readonly string[],
  ) {
    for (const f of faults.filter((x): x is FreezeFault => x.kind === 'freeze')) {
      if (f.until - f.at >= FROZEN_LOST_WITHIN_MS)
        this.pending.push({ f, at: f.at + FROZEN_LOST_WITHIN_MS, what: 'lost' });
      this.pending.push({ f, at: f.until, what: 'thaw' });
      this.pending.push({ f, at: f.until + THAW_WINDOW_MS, what: 'thawed' });
      this.pending.push({ f, at: f.until + THAWED_ALIVE_WITHIN_MS, what: 'alive' });
    }
  }

  due(now: number, view: FreezeView, trace: (line: string) => void): Violation[] {
    const out: Violation[] = [];
    for (const p of this.pending.filter((x) => x.at <= now)) {
      this.pending.splice(this.pending.indexOf(p), 1);
      const { f } = p;
      if (!view.running(f.to) || view.upSince(f.to) > f.at) continue;
      if (p.what === 'thaw') this.thawFrom.set(f, view.requests(f.to));
      else if (p.what === 'thawed') {
        const made = view.requests(f.to) - (this.thawFrom.get(f) ?? 0);
        trace(`freeze of ${f.to}: ${made} requests in the first ${THAW_WINDOW_MS} ms after the resume`);
        if (made > view.known(f.to) + THAW_REQUESTS_SLACK + THAW_REQUESTS_PER_MOVE * movedDuring(this.faults, f))
          out.push({ kind: 'thaw-storm', at: now, origin: f.to, detail: `${made} requests in ${THAW_WINDOW_MS} ms` });
      } else out.push(...this.held(p.what, f, now, view, trace));
    }
    return out;
  }

  private held(what: 'lost' | 'alive', f: FreezeFault, now: number, view: FreezeView, trace: (l: string) => void) {
    const window = { from: f.at - 5000, to: f.until + THAWED_ALIVE_WITHIN_MS };
    if (touched(this.faults, f.to, window, f)) return [];
    const out: Violation[] = [];
    for (const viewer of this.names) {
      if (viewer === f.to || !view.running(viewer) || view.upSince(viewer) > window.from) continue;
      if (touched(this.faults, viewer, window, f)) continue;
      const held = view.held(viewer, f.to);
      if (!held || held.incarnation !== view.incarnation(f.to)) continue;
      const wrong = what === 'lost' ? held.state === 'alive' : held.state !== 'alive';
      if (!wrong) continue;
      trace(`freeze of ${f.to}: ${viewer} holds it ${held.state} at ${now}`);
      const detail = `${viewer} holds ${f.to} ${held.state} ${now - (what === 'lost' ? f.at : f.until)} ms after its ${what === 'lost' ? 'freeze' : 'resume'}`;
      out.push({ kind: what === 'lost' ? 'frozen-alive' : 'thawed-lost', at: now, viewer, origin: f.to, detail });
    }
    return out;
  }
}

/** Peers that moved to a new address (a move, a restart elsewhere) while the agent was frozen. */
function movedDuring(faults: readonly FaultEvent[], f: FreezeFault): number {
  const moved = faults.filter(
    (m) => m.at >= f.at && m.at < f.until && (m.kind === 'move' || (m.kind === 'restart' && m.move)),
  );
  return new Set(moved.map((m) => ('agent' in m ? m.agent : ''))).size;
}

/** Whether a fault other than the freeze (and the site's ordinary work) touches `name` in the window, or all. */
function touched(faults: readonly FaultEvent[], name: string, w: { from: number; to: number }, own: FreezeFault) {
  const ordinary = new Set(['change', 'register', 'renew', 'withdraw', 'health', 'heal-check']);
  const global = new Set(['partition', 'starve', 'storm', 'move']);
  return faults.some((f) => {
    if (f === own || ordinary.has(f.kind)) return false;
    const end = 'until' in f ? f.until : f.kind === 'restart' ? f.at + f.downMs : f.at;
    if (f.at > w.to || end < w.from) return false;
    if (global.has(f.kind)) return true;
    return ['to', 'from', 'agent'].some((k) => k in f && (f as Record<string, unknown>)[k] === name);
  });
}
