/**
 * What an answer becomes on the wire (its JSON, or its bytes), made once per answer object: an answer given to
 * many askers (an origin's snapshot, SnapshotMemo) is serialised once, not once per asker. Only for objects
 * never changed once made, as a PeerService's answers are; other values are made each time.
 */
export class OncePerAnswer<T> {
  private readonly made = new WeakMap<object, T>();

  constructor(private readonly make: (value: unknown) => T) {}

  of(value: unknown): T {
    if (typeof value !== 'object' || value === null) return this.make(value);
    let made = this.made.get(value);
    if (made === undefined) this.made.set(value, (made = this.make(value)));
    return made;
  }
}
