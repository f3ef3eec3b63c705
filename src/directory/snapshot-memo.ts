import { deltasOf, snapshotOf, type Changes } from './catch-up.js';
import type { Origin, StoredDevice } from './origin.js';

/**
 * Sets larger than this are built per asker: the memo and the peer server's bytes of it stay resident while the
 * version lasts (~1 KB a device), and a host of 5,000 devices keeps its RSS budget (foot13).
 */
export const MEMO_DEVICES = 256;

/** The snapshot page last built of an origin, and the set it was built of. */
interface Built {
  incarnation: number;
  version: number;
  devices: ReadonlyMap<string, StoredDevice>;
  after: string | undefined;
  answer: Changes;
}

/**
 * The snapshot of this agent's own set, given again while it holds the same set. A cold start of N agents asks
 * each agent for its own set N−1 times (a member for others' sets only when their origin fails): each answer
 * was built anew (a copy of every device, sorted) and serialised anew, where the peer server now keeps the bytes
 * of a frozen answer (PeerHttpServer; MemoryNetwork keeps one JSON per answer object). One object per version
 * makes one serialisation of it. The set is checked by
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
    if (!origin.local || devices.size > MEMO_DEVICES) return answer;
    if (answer.kind === 'snapshot') Object.freeze(answer.entries);
    this.built.set(origin, { incarnation: inc, version, devices, after, answer: Object.freeze(answer) });
    return answer;
  }
}
