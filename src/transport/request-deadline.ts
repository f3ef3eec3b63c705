/** A request's deadlines: to reach the peer (connect, or a pooled socket), and for the answer once connected. */
export interface DeadlineMs {
  reachMs: number;
  answerMs: number;
}

/**
 * One request's deadline as an AbortSignal: `reachMs` from the start, then `answerMs` from the moment a fresh
 * connection is established (`connected`: the wait in the peer's accept queue), then `reachMs` again from
 * the answer's head (`answering`: a peer that trickles its body is cut off as before). Real timers, unref'd,
 * as AbortSignal.timeout's were.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;

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

  /** The answer's head arrived: the peer is serving it, and its body has `reachMs` from now, as before. */
  answering(): void {
    if (this.ms.answerMs <= this.ms.reachMs || this.controller.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = this.arm(this.ms.reachMs);
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private arm(ms: number): NodeJS.Timeout {
    // Whole milliseconds: a late loop's deadline is fractional (peer-client-deadline test), and timers round.
    const timer = setTimeout(
      () => this.controller.abort(new DOMException('the peer did not answer in time', 'TimeoutError')),
      Math.max(1, Math.ceil(ms)),
    );
    timer.unref();
    return timer;
  }
}
