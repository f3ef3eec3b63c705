import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

/** A pause: start on the host's monotonic clock, duration (ms), and whether it was a scavenge (young generation). */
export type GcPause = [start: number, ms: number, minor?: boolean];

/**
 * The garbage collector's pauses in one child process while a change phase runs, on the host's monotonic
 * clock: 50 agents share a child's heap (each with the whole site's directory), so a pause stops all 50 at once,
 * and a change that arrives during it waits in every one of them (change-timing.ts counts the slow pairs a
 * pause overlapped). Each pause says whether it was a scavenge of the young generation, the pause that
 * `--max-semi-space-size` trades against (gc16, child-flags.ts), or a mark-compact / incremental step.
 */
export class GcPauses {
  private readonly pauses: GcPause[] = [];
  private observer: PerformanceObserver | undefined;

  /** `monoNow`: the clock the change timings read; a gc entry's startTime is performance.now()'s. */
  constructor(private readonly monoNow: () => number) {}

  start(): void {
    if (this.observer) return;
    const observer = new PerformanceObserver((list) => {
      // performance.now() counts from the process's start on the same monotonic clock: a constant offset.
      const offset = this.monoNow() - performance.now();
      for (const e of list.getEntries()) {
        const kind = (e as { detail?: { kind?: number } }).detail?.kind;
        this.pauses.push([e.startTime + offset, e.duration, kind === constants.NODE_PERFORMANCE_GC_MINOR]);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    this.observer = observer;
  }

  /** The pauses since the last call. */
  take(): GcPause[] {
    return this.pauses.splice(0);
  }

  /**
   * The young generation's size now (MiB, both semi-spaces): V8 grows it towards twice the max semi-space only
   * while many objects survive its scavenges, so the flag is a ceiling, not the size a child ran with.
   */
  youngMiB(): number {
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    return (space?.space_size ?? 0) / 2 ** 20;
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = undefined;
  }
}
