import { createHash } from 'node:crypto';
import { canonicalJson } from '../profiles/model.js';
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
