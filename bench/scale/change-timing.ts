import { summarize } from '../stats.js';
import type { GcPause } from './gc-pauses.js';
import type { ChangeTimings } from './site-worker.js';

/**
 * Where a change's time goes on the scale step's site (issue 18's 20 ms at 0 % loss), from the child processes'
 * own stamps on the host's monotonic clock: from the change made at its origin to each viewer's directory
 * holding it, without the bench's IPC and mirror, and how far apart the viewers sharing one child's event loop
 * got it (the 50 copies of one multicast datagram that loop reads and handles one after the other).
 */
export interface ChangeTiming {
  /** p99 and p50 over (viewer, change) pairs: change made at the origin to the viewer's directory holding it. */
  appliedP99Ms: number;
  appliedP50Ms: number;
  /** p99 over the same pairs from the announcement sent (the origin's reload done) instead of the change made. */
  fromSentP99Ms: number;
  /** p50 over changes of the origin's own part: change made to announcement sent (its reload). */
  reloadP50Ms: number;
  /** The first viewer of each child, p50 over (child, change): the datagram's way and one handling. */
  firstInChildP50Ms: number;
  /** p99 over (child, change) of the last viewer's time less the first's: the loop's queue of copies. */
  spreadInChildP99Ms: number;
  pairs: number;
  /** Pairs slower than issue 18's 20 ms, and how many of them a GC pause of the viewer's child overlapped. */
  slowPairs: number;
  slowPairsInGc: number;
  /** The children's GC pauses over the phase: how many, the longest, all of them together (ms). */
  gcPauses: number;
  gcMaxMs: number;
  gcTotalMs: number;
  /** Of those, the scavenges of the young generation (sized by --max-semi-space-size): how many, longest, total. */
  gcMinor?: { pauses: number; maxMs: number; totalMs: number };
  /** Slow pairs a scavenge overlapped (of slowPairsInGc). */
  slowPairsInMinorGc?: number;
  /** Each child's young generation at the phase's end (MiB). */
  youngMiB?: number[];
}

/** Issue 18: a change reaches every agent within 20 ms p99 at 0 % loss. */
const GOAL_MS = 20;

interface Made {
  origin: string;
  version: number;
  madeAt: number;
  sentAt: number;
}

/** Each viewer's first time in [from, to) holding `c` (its version or a later one); the origin itself is no viewer. */
function firstHeld(c: Made, t: ChangeTimings, names: string[], from: number, to: number): Map<number, number> {
  const first = new Map<number, number>();
  for (const [viewer, o, held, when] of t.applied)
    if (o === c.origin && held >= c.version && viewer >= from && viewer < to && names[viewer] !== c.origin)
      if (!first.has(viewer)) first.set(viewer, when);
  return first;
}

/** `children`: each child's timings and its agents' range [from, to). */
export function changeTiming(
  children: { from: number; to: number; t: ChangeTimings }[],
  names: string[],
): ChangeTiming {
  const made: Made[] = children.flatMap(({ t }) =>
    t.sent.map(([i, version, madeAt, sentAt]) => ({ origin: names[i], version, madeAt, sentAt })),
  );
  const all: number[] = [];
  const fromSent: number[] = [];
  const firsts: number[] = [];
  const spreads: number[] = [];
  let slowPairs = 0;
  let slowPairsInGc = 0;
  let slowPairsInMinorGc = 0;
  for (const { from, to, t } of children) {
    const gc = t.gc ?? [];
    for (const c of made) {
      const times = [...firstHeld(c, t, names, from, to).values()];
      if (times.length === 0) continue;
      all.push(...times.map((when) => when - c.madeAt));
      for (const when of times) {
        if (when - c.madeAt <= GOAL_MS) continue;
        slowPairs += 1;
        const within = gc.filter(([at, ms]) => at < when && at + ms > c.madeAt);
        if (within.length > 0) slowPairsInGc += 1;
        if (within.some(([, , minor]) => minor)) slowPairsInMinorGc += 1;
      }
      fromSent.push(...times.map((when) => when - c.sentAt));
      firsts.push(Math.min(...times) - c.sentAt);
      spreads.push(Math.max(...times) - Math.min(...times));
    }
  }
  return {
    appliedP99Ms: summarize(all).p99,
    appliedP50Ms: summarize(all).p50,
    fromSentP99Ms: summarize(fromSent).p99,
    reloadP50Ms: summarize(made.map((c) => c.sentAt - c.madeAt)).p50,
    firstInChildP50Ms: summarize(firsts).p50,
    spreadInChildP99Ms: summarize(spreads).p99,
    pairs: all.length,
    slowPairs,
    slowPairsInGc,
    slowPairsInMinorGc,
    youngMiB: children.map(({ t }) => t.youngMiB ?? 0),
    ...gcOf(children.flatMap(({ t }) => t.gc ?? [])),
  };
}

function gcOf(pauses: GcPause[]): Pick<ChangeTiming, 'gcPauses' | 'gcMaxMs' | 'gcTotalMs' | 'gcMinor'> {
  const sum = (of: GcPause[]) => {
    const ms = of.map(([, d]) => d);
    return { pauses: ms.length, maxMs: Math.max(0, ...ms), totalMs: ms.reduce((a, b) => a + b, 0) };
  };
  const all = sum(pauses);
  return { gcPauses: all.pauses, gcMaxMs: all.maxMs, gcTotalMs: all.totalMs, gcMinor: sum(pauses.filter((p) => p[2])) };
}
