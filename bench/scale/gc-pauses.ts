import { PerformanceObserver } from 'node:perf_hooks';

/**
 * The garbage collector's pauses in one child process while a change phase runs, on the host's monotonic
 * clock: 50 agents share a child's heap (each with the whole site's directory), so a pause stops all 50 at once,
 * and a change that arrives during it waits in every one of them (change-timing.ts counts the slow pairs a
 * pause overlapped).
 */
export class GcPauses {
  private readonly pauses: [number, number][] = [];
  private observer: PerformanceObserver | undefined;

  /** `monoNow`: the clock the change timings read; a gc entry's startTime is performance.now()'s. */
  constructor(private readonly monoNow: () => number) {}

  start(): void {
    if (this.observer) return;
    const observer = new PerformanceObserver((list) => {
      // performance.now() counts from the process's start on the same monotonic clock: a constant offset.
      const offset = this.monoNow() - performance.now();
      for (const e of list.getEntries()) this.pauses.push([e.startTime + offset, e.duration]);
    });
    observer.observe({ entryTypes: ['gc'] });
    this.observer = observer;
  }

  /** The pauses since the last call: [start, duration ms]. */
  take(): [number, number][] {
    return this.pauses.splice(0);
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = undefined;
  }
}
