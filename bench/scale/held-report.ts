import type { ChangeTimings, HeldRow } from './site-worker.js';

/**
 * While a change phase is timed, what the agents hold is reported this long after the first event of a batch,
 * not on the next turn of the loop. The report's IPC write took ~18 % of a child's CPU over the phase
 * (change14's phase profile: 40 of 228 ms), and came between the turns that read the 50 copies of one change,
 * delaying the later ones: the harness's cost inside the figure it measures. The bench needs the report only to
 * know when a change has settled (the figure itself is the children's stamps); its mirror's own figure
 * (`p99BenchMs`) reads up to this much later.
 */
export const TIMED_REPORT_MS = 25;

/**
 * While timed, the report waits until the child's events have been quiet for TIMED_REPORT_MS (change19): a child
 * whose copies of one change ran longer than that took the report's IPC write, and the bench it wakes, in the
 * middle of them, the late copies that make the p99. It never waits more than this many TIMED_REPORT_MS.
 */
const TIMED_REPORT_MAX_WAITS = 4;

/** What a viewer holds of an origin, as the child reads it from the viewer's directory. */
export type HeldOf = (viewer: number, origin: string) => { version: number; state: string } | undefined;

/**
 * A child's bookkeeping for the bench, called on every directory event of its agents (`progressed`): what each
 * agent holds, sent once a turn of the loop (while timed: once quiet for TIMED_REPORT_MS), batched; and, while a change phase is
 * timed, when each viewer's directory applied a version (site-worker.ts ChangeTimings). It runs inside each
 * copy's handling, before the next agent of the child reads its copy: receive-cost.ts `harness` measures it.
 */
export class HeldReport {
  /** Viewer -> origins it progressed on since the last report (no key string made per event). */
  private readonly dirty = new Map<number, Set<string>>();
  private queued = false;
  /** While timed: the batch's first event and the last (the host's monotonic ms). */
  private firstAt = 0;
  private lastAt = 0;

  constructor(
    private readonly held: HeldOf,
    private readonly timings: ChangeTimings,
    private readonly send: (rows: HeldRow[]) => void,
    private readonly now: () => number,
  ) {}

  readonly progressed = (viewer: number, origin: string): void => {
    const timed = this.timings.on === true;
    if (timed) {
      this.lastAt = this.now();
      this.timings.applied.push([viewer, origin, this.held(viewer, origin)?.version ?? 0, this.lastAt]);
    }
    const origins = this.dirty.get(viewer);
    if (origins) origins.add(origin);
    else this.dirty.set(viewer, new Set([origin]));
    if (this.queued) return;
    this.queued = true;
    this.firstAt = this.lastAt;
    if (timed) setTimeout(this.due, TIMED_REPORT_MS);
    else setImmediate(this.flush);
  };

  /** Timed: flushes once the events are TIMED_REPORT_MS quiet, or the batch has waited its longest. */
  private readonly due = (): void => {
    const now = this.now();
    const quietFor = now - this.lastAt;
    const waitedOut = now - this.firstAt >= TIMED_REPORT_MS * TIMED_REPORT_MAX_WAITS;
    if (this.timings.on === true && quietFor < TIMED_REPORT_MS && !waitedOut)
      setTimeout(this.due, TIMED_REPORT_MS - quietFor);
    else this.flush();
  };

  readonly flush = (): void => {
    this.queued = false;
    const rows: HeldRow[] = [];
    for (const [v, origins] of this.dirty)
      for (const o of origins) {
        const held = this.held(v, o);
        rows.push([v, o, held?.version ?? 0, held?.state ?? '']);
      }
    this.dirty.clear();
    if (rows.length > 0) this.send(rows);
  };
}
