/**
 * Keys ordered by a due time, earliest first (a binary min-heap). It never removes or moves an entry: a
 * key whose deadline changed is pushed again and its older entries are the reader's to skip (lazy
 * invalidation), which keeps each change O(log n) without an index of positions.
 */
export class DeadlineHeap<K> {
  private readonly at: number[] = [];
  private readonly keys: K[] = [];

  get size(): number {
    return this.at.length;
  }

  push(at: number, key: K): void {
    let i = this.at.length;
    this.at.push(at);
    this.keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at[parent] <= at) break;
      this.put(i, this.at[parent], this.keys[parent]);
      i = parent;
    }
    this.put(i, at, key);
  }

  /** The earliest due time, or Infinity when empty. */
  peek(): number {
    return this.at.length === 0 ? Infinity : this.at[0];
  }

  /** Takes the earliest entry out if it is due by `now`. */
  popDue(now: number): { at: number; key: K } | undefined {
    return this.peek() <= now ? this.pop() : undefined;
  }

  /** Takes the earliest entry out; undefined when empty. */
  pop(): { at: number; key: K } | undefined {
    if (this.at.length === 0) return undefined;
    const top = { at: this.at[0], key: this.keys[0] };
    const last = this.at.length - 1;
    const [lastAt, lastKey] = [this.at[last], this.keys[last]];
    this.at.length = last;
    this.keys.length = last;
    if (last > 0) this.sift(lastAt, lastKey);
    return top;
  }

  clear(): void {
    this.at.length = 0;
    this.keys.length = 0;
  }

  /** Places (at, key) from the root down to where it belongs. */
  private sift(at: number, key: K): void {
    const n = this.at.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.at[child + 1] < this.at[child]) child++;
      if (this.at[child] >= at) break;
      this.put(i, this.at[child], this.keys[child]);
      i = child;
    }
    this.put(i, at, key);
  }

  private put(i: number, at: number, key: K): void {
    this.at[i] = at;
    this.keys[i] = key;
  }
}
