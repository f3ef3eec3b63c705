import { SNAPSHOT_PAGE_BYTES, type Changes } from './catch-up.js';
import { compare, type Origin } from './origin.js';

/** One origin's whole set, as a snapshot answer of one page carries it. */
export type WholeSet = Extract<Changes, { kind: 'snapshot' }>;

/**
 * A page of a bulk catch-up (docs/protocol.md, *Bulk catch-up*): the whole sets of the alive origins this agent
 * holds, in name order; `next` names the origin to continue after. Whole sets only: one larger than a page is
 * left out, and the asker fetches it from its origin, paged, as before.
 */
export interface SetsPage {
  kind: 'sets';
  sets: WholeSet[];
  next?: string;
}

/** At most this many sets a page, whatever their size (sets of no devices weigh nothing). */
export const SETS_PER_PAGE = 1024;

/** The page after `after`: sets of about SNAPSHOT_PAGE_BYTES of device JSON in all, as a snapshot's page. */
export function setsPage(origins: Iterable<Origin>, snapshotOf: (o: Origin) => Changes, after?: string): SetsPage {
  const held = [...origins]
    .filter((o) => o.state === 'alive' && o.version > 0 && !o.remote && o.bytes <= SNAPSHOT_PAGE_BYTES)
    .filter((o) => after === undefined || compare(o.name, after) > 0)
    .sort((a, b) => compare(a.name, b.name));
  const sets: WholeSet[] = [];
  let bytes = 0;
  for (const o of held) {
    const full = sets.length >= SETS_PER_PAGE || (sets.length > 0 && bytes + o.bytes > SNAPSHOT_PAGE_BYTES);
    if (full) return { kind: 'sets', sets, next: sets[sets.length - 1].origin };
    const set = snapshotOf(o);
    if (set.kind !== 'snapshot' || set.next !== undefined) continue;
    bytes += o.bytes;
    sets.push(set);
  }
  return { kind: 'sets', sets };
}
