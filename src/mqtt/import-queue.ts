import type { Clock, TimerHandle } from '../util/clock.js';

/** One imported message waiting to be applied, or the start or end of a read-back. */
export type Pending =
  | {
      site: string;
      agent: string;
      /** Undefined for the agent's state topic. */
      device?: string;
      payload: Buffer;
      /** The record would add a device: counted against the bounds while it waits. */
      adds?: boolean;
    }
  | { readBack: 'begin' | 'end' };

/** Work done per turn of the event loop before it yields: /livez, heartbeats and signals go on meanwhile. */
const SLICE_MS = 8;

/**
 * What a queued message costs besides its payload (the message, its topic's strings): counted against
 * the queue's bound, so that a flood of empty or tiny messages is bounded in number too.
 */
export const MESSAGE_OVERHEAD_BYTES = 256;

/** The longest a read-back waits for the broker's burst to end: far more than 20,000 records take. */
const SETTLE_MAX_MS = 60_000;

/**
 * Imported messages in arrival order, applied in slices that yield to the event loop. The connection is
 * never held back: a broker drops what a slow subscriber does not read (Mosquitto past
 * `max_queued_messages`, retained records of a read-back among them), so the queue takes every message
 * and what it may hold is bounded by the import's caps, checked as each message arrives.
 */
export class ImportQueue {
  private readonly queue: Pending[] = [];
  private head = 0;
  private bytes = 0;
  private drainTimer: TimerHandle | undefined;
  private lastArrival: number;

  constructor(
    private readonly c: { clock: Clock },
    private readonly apply: (m: Pending) => void,
    private readonly maxBytes: number,
  ) {
    this.lastArrival = c.clock.monotonic();
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  /** Notes that a message arrived, queued or not: a read-back is settled once they stop. */
  arrived(): void {
    this.lastArrival = this.c.clock.monotonic();
  }

  /** Queues one message; false when the queue holds its bound of bytes already. */
  offer(m: Exclude<Pending, { readBack: string }>): boolean {
    const cost = m.payload.length + MESSAGE_OVERHEAD_BYTES;
    if (this.bytes + cost > this.maxBytes) return false;
    this.bytes += cost;
    this.push(m);
    return true;
  }

  readBack(edge: 'begin' | 'end'): void {
    this.push({ readBack: edge });
  }

  /**
   * Resolves once nothing is queued and no message came for `quietMs`: the broker has delivered what it
   * retains under a fresh subscription, and it is applied, however long that takes; but after `maxMs`
   * at most, so that a publisher that never pauses cannot keep deletions from being noticed.
   */
  settled(quietMs: number, maxMs = SETTLE_MAX_MS): Promise<void> {
    const until = this.c.clock.monotonic() + maxMs;
    return new Promise<void>((resolve) => {
      const check = () => {
        const now = this.c.clock.monotonic();
        const quiet = now - this.lastArrival;
        if ((this.length === 0 && quiet >= quietMs) || now >= until) return resolve();
        const t = this.c.clock.setTimeout(check, Math.max(quietMs - quiet, 50));
        t.unref?.();
      };
      this.lastArrival = this.c.clock.monotonic();
      check();
    });
  }

  stop(): void {
    this.c.clock.clearTimeout(this.drainTimer);
    this.queue.length = 0;
    this.head = 0;
  }

  private push(m: Pending): void {
    this.queue.push(m);
    this.drainTimer ??= this.c.clock.setTimeout(() => this.drain(), 0);
  }

  private drain(): void {
    this.drainTimer = undefined;
    const until = this.c.clock.monotonic() + SLICE_MS;
    while (this.head < this.queue.length && this.c.clock.monotonic() < until) {
      const m = this.queue[this.head++];
      if (!('readBack' in m)) this.bytes -= m.payload.length + MESSAGE_OVERHEAD_BYTES;
      this.apply(m);
    }
    if (this.head < this.queue.length) this.drainTimer = this.c.clock.setTimeout(() => this.drain(), 0);
    else {
      this.queue.length = 0;
      this.head = 0;
    }
  }
}
