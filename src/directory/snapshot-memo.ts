import { deltasOf, snapshotOf, type Changes } from './catch-up.js';
import type { Origin, StoredDevice } from './origin.js';

/** The snapshot page last built of an origin, and the set it was built of. */
interface Built {
  incarnation: number;
  version: number;
  devices: ReadonlyMap<string, StoredDevice>;
  after: string | undefined;
  answer: Changes;
}

/**
 * The snapshot last served of each origin, given again while the origin holds the same set. A cold start of
 * N agents asks each agent for its own set N−1 times: each answer was built anew (a copy of every device,
 * sorted) and serialised anew, where the peer server now keeps one JSON per answer object (PeerHttpServer, as
 * MemoryNetwork did). One object per origin version makes one serialisation of it. The set is checked by
 * identity as well as version: a snapshot replaces the map, and a delta changes it only with a new version.
 * Frozen at its top: callers read it, and the JSON kept of it must stay true.
 */
export class SnapshotMemo {
  private readonly built = new WeakMap<Origin, Built>();

  /**
   * The deltas after `since` (built anew: they differ by asker), or a snapshot when the log does not reach
   * back, the incarnation differs or the deltas would not fit a page. A snapshot larger than a page comes in
   * pages: `after` continues one.
   */
  changes(origin: Origin, incarnation: number, since: number, after?: string): Changes {
    const deltas = deltasOf(origin, incarnation, since, after);
    if (deltas) return deltas;
    const last = this.built.get(origin);
    const { incarnation: inc, version, devices } = origin;
    if (last?.incarnation === inc && last.version === version && last.devices === devices && last.after === after)
      return last.answer;
    const answer = snapshotOf(origin, after);
    if (answer.kind === 'snapshot') Object.freeze(answer.entries);
    this.built.set(origin, { incarnation: inc, version, devices, after, answer: Object.freeze(answer) });
    return answer;
  }
}
