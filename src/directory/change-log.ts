import type { Delta } from './delta.js';

/**
 * The last few deltas of one origin, so that a peer that missed some announcements gets exactly what it
 * missed. Bounded by count and by devices carried: past that a peer gets a snapshot, which is never
 * larger than the origin's device set.
 */
export class ChangeLog {
  private entries: Delta[] = [];
  private devicesHeld = 0;
  /** The version the oldest entry applies to; the log answers `since(v)` for v >= base. */
  private base: number;

  constructor(
    baseVersion: number,
    private readonly maxEntries: number,
    private readonly maxDevices: number,
  ) {
    this.base = baseVersion;
  }

  append(delta: Delta): void {
    const head = this.base + this.entries.length;
    if (delta.version !== head + 1) throw new Error(`change log expects version ${head + 1}, got ${delta.version}`);
    this.entries.push(delta);
    this.devicesHeld += weight(delta);
    while (this.entries.length > this.maxEntries || (this.devicesHeld > this.maxDevices && this.entries.length > 1)) {
      const dropped = this.entries.shift();
      if (dropped === undefined) break; // cannot happen: the loop runs only while entries are held
      this.devicesHeld -= weight(dropped);
      this.base += 1;
    }
  }

  /** Deltas after `version`, oldest first; undefined when the log no longer reaches back that far. */
  since(version: number): Delta[] | undefined {
    if (version < this.base) return undefined;
    return this.entries.slice(version - this.base);
  }

  /** After a snapshot the history before it is unknown. */
  reset(version: number): void {
    this.entries = [];
    this.devicesHeld = 0;
    this.base = version;
  }

  get head(): number {
    return this.base + this.entries.length;
  }
}

function weight(d: Delta): number {
  return d.added.length + d.updated.length + Math.ceil(d.removed.length / 8) + 1;
}
