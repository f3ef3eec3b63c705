/** A request's deadlines: to reach the peer (connect, or a pooled socket), and for the answer once connected. */
export interface DeadlineMs {
  reachMs: number;
  answerMs: number;
}

/**
 * One request's deadline as an AbortSignal: `reachMs` from the start, then `answerMs` from the moment a fresh
 * connection is established (`connected`: the wait in the peer's accept queue), then `reachMs` from the
 * answer's head (`answering`), never past the deadline already running: whoever holds a catch-up slot holds it
 * at most `answerMs` after connecting (`reachMs` on a pooled connection), head and body together. Re-armed in
 * full, a member that sent its head just inside the allowance and then trickled held it 4x + 1x, and 2x on a
 * pooled connection (test/attacks/catchup-slot-hold.test.ts). Real timers, unref'd, as AbortSignal.timeout's were.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;
  private readonly startedAt = performance.now();
  /** When the running timer fires (performance.now(), the clock real timers keep). */
  private dueAt = 0;

  constructor(private readonly ms: DeadlineMs) {
    this.timer = this.arm(ms.reachMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A fresh connection was established: the answer is given `answerMs` from now, if that is later. */
  connected(): void {
    if (this.ms.answerMs <= this.ms.reachMs || this.controller.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = this.arm(this.ms.answerMs);
  }

  /** The answer's head arrived: its body has `reachMs` from now, or what is left of the deadline if less. */
  answering(): void {
    if (this.ms.answerMs <= this.ms.reachMs || this.controller.signal.aborted) return;
    const left = this.dueAt - performance.now();
    if (left <= this.ms.reachMs) return;
    clearTimeout(this.timer);
    this.timer = this.arm(this.ms.reachMs);
  }

  /** How long after the request began the running deadline is due: what a timeout was given, in the end. */
  get ranMs(): number {
    return this.dueAt - this.startedAt;
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private arm(ms: number): NodeJS.Timeout {
    this.dueAt = performance.now() + ms;
    // Whole milliseconds: a late loop's deadline is fractional (peer-client-deadline test), and timers round.
    const timer = setTimeout(
      () => this.controller.abort(new DOMException('the peer did not answer in time', 'TimeoutError')),
      Math.max(1, Math.ceil(ms)),
    );
    timer.unref();
    return timer;
  }
}
