import { createHash } from 'node:crypto';
import { canonicalJson, type Device } from '../profiles/model.js';
import type { Delta } from './delta.js';
import { compare, toDevice, type Origin } from './origin.js';
import type { AgentState } from './records.js';

/** A hash of what every alive origin holds: two directories with equal digests serve the same devices. */
export function directoryDigest(origins: Iterable<Origin>): string {
  const hash = createHash('sha256');
  for (const o of [...origins].sort((a, b) => compare(a.name, b.name))) {
    if (o.state !== 'alive' || o.version === 0) continue;
    hash.update(`${o.name}\0${o.incarnation}\0${o.version}\0`);
    const sorted = [...o.devices.entries()].sort((a, b) => compare(a[0], b[0]));
    for (const [, stored] of sorted) hash.update(canonicalJson(toDevice(stored.record)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The set digest (as `directoryDigest` of that origin alone) the origin would have once `delta` is applied to what is
 * held of this life: undefined unless the delta is the next version of it (an announce challenge, sync/challenges.ts,
 * compares it with the digest the announcer echoes, before anything of the delta is written).
 */
export function digestAfter(
  o: Origin | undefined,
  name: string,
  incarnation: number,
  delta: Delta,
): string | undefined {
  const held = o !== undefined && o.incarnation === incarnation ? o.version : 0;
  if (delta.version !== held + 1) return undefined;
  const devices = new Map<string, Device>();
  if (o !== undefined && held > 0) for (const [id, stored] of o.devices) devices.set(id, toDevice(stored.record));
  for (const id of delta.removed) devices.delete(id);
  for (const d of [...delta.added, ...delta.updated]) devices.set(d.id, d);
  const hash = createHash('sha256');
  hash.update(`${name}\0${incarnation}\0${delta.version}\0`);
  for (const [, d] of [...devices].sort((a, b) => compare(a[0], b[0]))) hash.update(canonicalJson(d));
  return hash.digest('hex').slice(0, 16);
}

/** How many origins are in each state, and how many devices the alive ones serve. */
export function countOrigins(origins: Iterable<Origin>): { agents: Record<AgentState, number>; devices: number } {
  const agents: Record<AgentState, number> = { alive: 0, lost: 0, left: 0 };
  let devices = 0;
  for (const o of origins) {
    agents[o.state] += 1;
    if (o.state === 'alive') devices += o.devices.size;
  }
  return { agents, devices };
}
