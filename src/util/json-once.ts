/**
 * JSON made once per object: an answer given to many askers (an origin's snapshot, SnapshotMemo) is serialised
 * once, not once per asker. Only for objects never changed once made, as a PeerService's answers are.
 */
export class JsonOnce {
  private readonly made = new WeakMap<object, string>();

  of(value: unknown): string {
    if (typeof value !== 'object' || value === null) return JSON.stringify(value);
    let json = this.made.get(value);
    if (json === undefined) this.made.set(value, (json = JSON.stringify(value)));
    return json;
  }
}
