/** What a reader of RecentChanges sees: how many changes so far, and which keys the latest ones touched. */
export interface ChangesSeen {
  /** Moves with every change: a view built at an older value is out of date. */
  readonly epoch: number;
  /** The keys changed since `epoch` (repeats kept), or undefined when more changed than are remembered. */
  since(epoch: number): string[] | undefined;
}

/**
 * A change counter that remembers the keys of its last few changes, so that a view derived from many
 * keys can be brought up to date by looking again at those keys only, and rebuilt whole only after a
 * burst. Every change goes through `bump`, which moves the epoch, so a view can be out of date but
 * never believe it is current.
 */
export class RecentChanges implements ChangesSeen {
  private count = 0;
  private readonly keys: string[] = [];

  constructor(private readonly remembered = 32) {}

  get epoch(): number {
    return this.count;
  }

  bump(key: string): void {
    this.keys[this.count % this.remembered] = key;
    this.count++;
  }

  since(epoch: number): string[] | undefined {
    if (epoch > this.count || this.count - epoch > this.remembered) return undefined;
    const out: string[] = [];
    for (let e = epoch; e < this.count; e++) out.push(this.keys[e % this.remembered]);
    return out;
  }
}
