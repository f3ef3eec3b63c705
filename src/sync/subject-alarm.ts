import type { TimerHandle } from '../util/clock.js';
import type { SyncContext } from './sync-context.js';

/**
 * Wakes the sweep at a watched subject's due time, not at the first tick after it (ticks come every half period):
 * a vanished host's monitors began their check up to half a period late (0.3 s at 200 agents, seed 11), and every
 * viewer then waited on their notice. A subject's due time falls before the next tick only once it has been silent
 * for 2 periods: one wakeup more then, none while its heartbeats come.
 */
export class SubjectAlarm {
  private pending: { at: number; timer: TimerHandle } | undefined;

  constructor(
    private readonly s: SyncContext,
    private readonly tick: () => void,
  ) {}

  /** Called at the end of a tick with the watched subjects' due times: the earliest before the next tick is armed. */
  arm(dues: readonly number[], now: number): void {
    const due = Math.min(...dues);
    const nextTick = now + this.s.cfg.livenessPeriodMs / 2; // Liveness.start
    if (due <= now || due >= nextTick || (this.pending !== undefined && this.pending.at <= due)) return;
    this.s.c.clock.clearTimeout(this.pending?.timer);
    const timer = this.s.c.clock.setTimeout(() => {
      this.pending = undefined;
      if (this.s.running()) this.tick();
    }, due - now);
    timer.unref?.();
    this.pending = { at: due, timer };
  }
}
