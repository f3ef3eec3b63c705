import { now } from '../harness.js';

/**
 * The cold start's convergence curve: when 50, 90, 99 and 100 % of the (viewer, origin) pairs were
 * held (the origin's current version, alive), the held share each second, and the last pairs held
 * with what their viewers held of them then. It tells the bulk (CPU-bound, all pairs rising together)
 * from a tail (a few pairs waiting out back-offs or timeouts), which the one convergence time cannot.
 */

/** A pair not yet held: viewer, origin, the version the viewer holds (0: none), its state ('' when none). */
export type UnheldPair = [number, string, number, string];

/** What a cluster tells the curve on each poll: how many pairs are held of how many, and up to `list` unheld ones. */
export interface PairCount {
  held: number;
  total: number;
  unheld: UnheldPair[];
}

export interface ColdCurve {
  /** ms from the first start until the share of pairs held first reached 50, 90, 99 and 100 %. */
  at: { share: number; ms: number | null }[];
  /** [ms from the first start, share of pairs held], one point a second (and the last poll). */
  points: [number, number][];
  /** The pairs still unheld when 20 or fewer were left, at the last poll with any left, and when. */
  tail: { ms: number; pairs: UnheldPair[] };
}

const SHARES = [0.5, 0.9, 0.99, 1];
const TAIL_PAIRS = 20;
const POINT_EVERY_MS = 1000;

export class ColdCurveMeter {
  private readonly curve: ColdCurve = {
    at: SHARES.map((share) => ({ share, ms: null })),
    points: [],
    tail: { ms: 0, pairs: [] },
  };
  private lastPoint = -Infinity;

  constructor(
    private readonly startedAt: number,
    private readonly count: (list: number) => PairCount,
  ) {}

  /** One poll: records thresholds first crossed, a point a second, and the tail while it is short. */
  poll(): void {
    const t = now() - this.startedAt;
    const c = this.count(TAIL_PAIRS);
    const share = c.total === 0 ? 1 : c.held / c.total;
    for (const a of this.curve.at) if (a.ms === null && share >= a.share) a.ms = Math.round(t);
    if (t - this.lastPoint >= POINT_EVERY_MS) {
      this.curve.points.push([Math.round(t), Number(share.toFixed(4))]);
      this.lastPoint = t;
    }
    if (c.held < c.total && c.total - c.held <= TAIL_PAIRS) this.curve.tail = { ms: Math.round(t), pairs: c.unheld };
  }

  result(): ColdCurve {
    return this.curve;
  }
}
