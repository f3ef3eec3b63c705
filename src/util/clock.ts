/** Time, injected so that the protocol runs on a fake clock in tests and benchmarks. */
export interface Clock {
  /** Wall-clock milliseconds since the epoch: for timestamps that people and peers read. */
  now(): number;
  /** Monotonic milliseconds: for timeouts and latencies, immune to clock steps. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export interface TimerHandle {
  /** Lets the process exit while this timer is pending (a no-op on fake clocks). */
  unref?(): void;
}

export function systemClock(): Clock {
  return {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => {
      if (h) clearTimeout(h as NodeJS.Timeout);
    },
  };
}

/**
 * A clock that moves only when told to. Timers fire in deadline order, and promise callbacks queued by
 * a timer run before the next timer fires, so async protocol code behaves as it would in real time.
 */
export class FakeClock implements Clock {
  private time: number;
  private readonly epoch: number;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];

  constructor(start = 0, epoch = 1_767_225_600_000) {
    this.time = start;
    this.epoch = epoch;
  }

  now(): number {
    return this.epoch + this.time;
  }

  monotonic(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) (handle as unknown as { cancelled: boolean }).cancelled = true;
  }

  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Runs every timer due within `ms`, in order, letting microtasks and I/O callbacks settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: (typeof this.timers)[number] | undefined;
      for (const t of this.timers)
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (!next) break;
      this.time = Math.max(this.time, next.at);
      next.cancelled = true;
      next.fn();
    }
    this.time = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
