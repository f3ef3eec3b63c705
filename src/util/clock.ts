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

/** Thrown by FakeClock.advance when timers keep firing without time moving on. */
export class LivelockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LivelockError';
  }
}

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. Timers fire in deadline order, and promise callbacks queued by
 * a timer run before the next timer fires, so async protocol code behaves as it would in real time.
 * Timers sit in a binary heap: a simulated site of 60 agents keeps thousands pending.
 */
export class FakeClock implements Clock {
  static readonly LIVELOCK_TIMERS = 100_000;
  private time: number;
  private epoch: number;
  private seq = 0;
  private readonly heap: FakeTimer[] = [];
  private live = 0;

  /**
   * `settleTurns`: event-loop turns let run after each timer. Three let real sockets (an API server in
   * a test) answer; a site that is all in memory needs one, as one turn drains every promise callback.
   */
  constructor(
    start = 0,
    epoch = 1_767_225_600_000,
    private readonly settleTurns = 3,
    /**
     * Shortest delay: Node's setTimeout makes any delay under 1 ms 1 ms; a simulation that must behave
     * as the agent does on Node passes 1 (0 keeps sub-millisecond delays, for in-memory latencies).
     */
    private readonly minDelayMs = 0,
  ) {
    this.time = start;
    this.epoch = epoch;
  }

  now(): number {
    return this.epoch + this.time;
  }

  monotonic(): number {
    return this.time;
  }

  /** Steps the wall clock (an NTP correction, a wrong RTC at boot); monotonic time is not affected. */
  step(ms: number): void {
    this.epoch += ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = ms >= this.minDelayMs ? ms : this.minDelayMs; // NaN too, as on Node
    const timer: FakeTimer = { at: this.time + delay, seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    this.live += 1;
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    const timer = handle as unknown as FakeTimer | undefined;
    if (timer && !timer.cancelled) {
      timer.cancelled = true;
      this.live -= 1;
    }
  }

  get pending(): number {
    return this.live;
  }

  /** Runs every timer due within `ms`, in order, letting microtasks and I/O callbacks settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    let sameInstant = 0;
    for (;;) {
      await this.settle();
      const next = this.popDue(end);
      if (!next) break;
      sameInstant = next.at > this.time ? 0 : sameInstant + 1;
      // Code that keeps scheduling itself with no delay would spin here forever: a livelock, say so.
      if (sameInstant > FakeClock.LIVELOCK_TIMERS)
        throw new LivelockError(`${sameInstant} timers fired at ${this.time} ms without time moving on`);
      this.time = Math.max(this.time, next.at);
      next.cancelled = true;
      this.live -= 1;
      next.fn();
    }
    this.time = end;
    await this.settle();
  }

  private async settle(): Promise<void> {
    for (let i = 0; i < this.settleTurns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private popDue(end: number): FakeTimer | undefined {
    const h = this.heap;
    while (h.length > 0 && h[0].cancelled) this.pop();
    if (h.length === 0 || h[0].at > end) return undefined;
    return this.pop();
  }

  private push(t: FakeTimer): void {
    const h = this.heap;
    h.push(t);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): FakeTimer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as FakeTimer;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: FakeTimer, b: FakeTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
