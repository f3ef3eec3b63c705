import type { Delta } from './delta.js';
import { deltasBytes } from './holdings.js';
import { compare, toDevice, type Origin } from './origin.js';
import type { SnapshotEntry } from './records.js';

/** A catch-up answer is cut into pages of about this much device JSON: far below the 4 MiB answer cap. */
export const SNAPSHOT_PAGE_BYTES = 1024 * 1024;

/** What a peer that holds `since` of an origin needs to reach the current version. */
export type Changes =
  | { kind: 'deltas'; origin: string; incarnation: number; version: number; deltas: Delta[] }
  | {
      kind: 'snapshot';
      origin: string;
      incarnation: number;
      version: number;
      entries: SnapshotEntry[];
      /** Set on every page but the last: the id to continue after. Entries come in id order. */
      next?: string;
    };

/** The deltas after `since` when the asker holds a version of this life the log reaches back to, within a page. */
export function deltasOf(origin: Origin, incarnation: number, since: number, after?: string): Changes | undefined {
  if (after !== undefined || incarnation !== origin.incarnation || since > origin.version) return undefined;
  const deltas = origin.log.since(since)?.map(wireDelta);
  if (!deltas || deltasBytes(deltas) > SNAPSHOT_PAGE_BYTES) return undefined;
  return { kind: 'deltas', origin: origin.name, incarnation: origin.incarnation, version: origin.version, deltas };
}

/** The origin's whole set (the page after `after`), in id order. */
export function snapshotOf(origin: Origin, after?: string): Changes {
  const base = { origin: origin.name, incarnation: origin.incarnation, version: origin.version };
  const page = [...origin.devices.entries()].filter(([id]) => after === undefined || id > after);
  const entries: SnapshotEntry[] = [];
  let bytes = 0;
  for (const [, stored] of page.sort((a, b) => compare(a[0], b[0]))) {
    if (entries.length > 0 && bytes + stored.bytes > SNAPSHOT_PAGE_BYTES) {
      return { kind: 'snapshot', ...base, entries, next: entries[entries.length - 1].device.id };
    }
    bytes += stored.bytes;
    entries.push({ version: stored.version, device: toDevice(stored.record) });
  }
  return { kind: 'snapshot', ...base, entries };
}

/** A delta of the log as peers get it: the log holds the directory's records, which name their origin. */
function wireDelta(held: Delta): Delta {
  return { ...held, added: held.added.map(toDevice), updated: held.updated.map(toDevice) };
}
