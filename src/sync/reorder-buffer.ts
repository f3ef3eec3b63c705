import type { Delta } from '../directory/delta.js';

/**
 * Announced deltas of one life of one origin that arrived ahead of a missing one: applied when the gap
 * fills, or dropped when a catch-up passes them. It belongs to one incarnation and dies with it.
 */
export class ReorderBuffer {
  private readonly early = new Map<number, Delta>();
  /** Until when a missing delta is given to arrive before a catch-up is asked for (0: no wait). */
  graceUntil = 0;

  constructor(private readonly capacity = 16) {}

  /** Keeps a delta that does not follow on yet; false when the buffer is full. */
  hold(delta: Delta, now: number, graceMs: number): boolean {
    if (this.early.size >= this.capacity) return false;
    this.early.set(delta.version, delta);
    this.startGrace(now, graceMs);
    return true;
  }

  startGrace(now: number, graceMs: number): void {
    if (this.graceUntil === 0) this.graceUntil = now + graceMs;
  }

  /** The buffered delta for this version, removed from the buffer. */
  take(version: number): Delta | undefined {
    const delta = this.early.get(version);
    if (delta) this.early.delete(version);
    return delta;
  }

  /** Drops what the held version already covers; the grace ends once nothing waits. */
  prune(held: number): void {
    for (const v of this.early.keys()) if (v <= held) this.early.delete(v);
    if (this.early.size === 0) this.graceUntil = 0;
  }
}
