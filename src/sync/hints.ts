import { MAX_HINTS } from '../protocol/codec.js';
import { fnv1a32, incarnationTag, type Hint } from '../protocol/messages.js';
import type { Clock } from '../util/clock.js';

/** A hint with this version says the origin said goodbye (real versions start at 1). */
export const LEFT = 0;

/**
 * The hints this agent repeats on its heartbeats and announcements: what it applied recently, so that a
 * peer that missed an origin's announcement learns of it from anyone, not only from the origin.
 */
export class Hints {
  private readonly byName = new Map<string, { incarnation: number; version: number; at: number }>();

  constructor(
    private readonly clock: Clock,
    /** How long a change is repeated: two heartbeat periods, so that one lost heartbeat is covered. */
    private readonly horizonMs: number,
  ) {}

  note(name: string, incarnation: number, version: number): void {
    this.byName.set(name, { incarnation, version, at: this.clock.monotonic() });
  }

  forget(name: string): void {
    this.byName.delete(name);
  }

  /** The hints to send now, newest first. */
  list(): Hint[] {
    const horizon = this.clock.monotonic() - this.horizonMs;
    const out: { at: number; hint: Hint }[] = [];
    for (const [name, e] of this.byName) {
      if (e.at < horizon) {
        this.byName.delete(name);
        continue;
      }
      out.push({
        at: e.at,
        hint: { nameHash: fnv1a32(name), incarnationTag: incarnationTag(e.incarnation), version: e.version },
      });
    }
    return out
      .sort((a, b) => b.at - a.at)
      .slice(0, MAX_HINTS)
      .map((x) => x.hint);
  }
}
