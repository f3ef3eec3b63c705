import { summarize } from '../stats.js';
import type { ChangeTimings } from './site-worker.js';

/**
 * Where a change's time goes on the scale step's site (issue 18's 20 ms at 0 % loss), from the child processes'
 * own wall-clock stamps: from the origin's announcement sent to each viewer's directory holding it, without the
 * bench's IPC and mirror, and how far apart the viewers sharing one child's event loop got it (the 50 copies of
 * one multicast datagram that loop reads and handles one after the other).
 */
export interface ChangeTiming {
  /** p99 and p50 over (viewer, change) pairs: announcement sent to the viewer's directory holding it. */
  appliedP99Ms: number;
  appliedP50Ms: number;
  /** The first viewer of each child, p50 over (child, change): the datagram's way and one handling. */
  firstInChildP50Ms: number;
  /** p99 over (child, change) of the last viewer's time less the first's: the loop's queue of copies. */
  spreadInChildP99Ms: number;
  pairs: number;
}

/** `children`: each child's timings and its agents' range [from, to). */
export function changeTiming(
  children: { from: number; to: number; t: ChangeTimings }[],
  names: string[],
): ChangeTiming {
  const sent = new Map<string, number>(); // `${origin} ${version}` -> sent at
  for (const { t } of children) for (const [i, version, at] of t.sent) sent.set(`${names[i]} ${version}`, at);
  const all: number[] = [];
  const firsts: number[] = [];
  const spreads: number[] = [];
  for (const { from, to, t } of children) {
    for (const [key, at] of sent) {
      const [origin, v] = key.split(' ');
      const version = Number(v);
      // Each viewer's first event holding this version or a later one.
      const first = new Map<number, number>();
      for (const [viewer, o, held, when] of t.applied)
        if (o === origin && held >= version && viewer >= from && viewer < to && !first.has(viewer))
          first.set(viewer, when - at);
      const times = [...first.values()];
      if (times.length === 0) continue;
      all.push(...times);
      firsts.push(Math.min(...times));
      spreads.push(Math.max(...times) - Math.min(...times));
    }
  }
  return {
    appliedP99Ms: summarize(all).p99,
    appliedP50Ms: summarize(all).p50,
    firstInChildP50Ms: summarize(firsts).p50,
    spreadInChildP99Ms: summarize(spreads).p99,
    pairs: all.length,
  };
}
