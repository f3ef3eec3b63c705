import { sameDevice, type Device } from '../profiles/model.js';

/** The exact change from version - 1 to version of one origin's device set. */
export interface Delta {
  version: number;
  added: Device[];
  updated: Device[];
  removed: string[];
}

export function isEmptyDelta(d: Pick<Delta, 'added' | 'updated' | 'removed'>): boolean {
  return d.added.length === 0 && d.updated.length === 0 && d.removed.length === 0;
}

/** What turns `current` into `next`; devices that did not change are not mentioned. */
export function computeDelta(current: ReadonlyMap<string, Device>, next: readonly Device[], version: number): Delta {
  const delta: Delta = { version, added: [], updated: [], removed: [] };
  const nextIds = new Set<string>();
  for (const device of next) {
    nextIds.add(device.id);
    const old = current.get(device.id);
    if (!old) delta.added.push(device);
    else if (!sameDevice(old, device)) delta.updated.push(device);
  }
  for (const id of current.keys()) if (!nextIds.has(id)) delta.removed.push(id);
  delta.added.sort(byId);
  delta.updated.sort(byId);
  delta.removed.sort();
  return delta;
}

function byId(a: Device, b: Device): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
