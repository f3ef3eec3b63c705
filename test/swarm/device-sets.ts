import { PROFILE_LIMITS as L, type Capability, type Device } from '../../src/profiles/model.js';
import { seededRandom } from '../../src/util/random.js';
import type { DeviceSetKind } from './scenario.js';
import { device, randomDevices } from '../helpers/sim.js';

/**
 * An agent's device set for one (kind, seed). `small` sets draw ids from a small pool so that changes
 * add, update and remove; the others sit near a limit of the profile rules (src/profiles/model.ts):
 * `many` has the most devices an agent may publish, `wide` devices with the most capabilities, tags and
 * names, `huge` the most devices each near the longest fields, past what one catch-up answer may carry.
 */
export function deviceSet(agent: string, kind: DeviceSetKind, seed: number): Device[] {
  const r = seededRandom(seed);
  if (kind === 'small') return randomDevices(r, agent);
  // A change of a big set touches a few devices, as an edited profile would.
  const base = kind === 'many' ? many(agent) : kind === 'wide' ? wide(agent) : huge(agent);
  const out = base.slice(0, base.length - Math.floor(r() * 3));
  const i = Math.floor(r() * out.length);
  out[i] = { ...out[i], location: `room ${seed % 1000}` };
  return out;
}

function many(agent: string): Device[] {
  return Array.from({ length: L.devicesPerAgent }, (_, i) => device(`${agent}-m${i}`));
}

function wide(agent: string): Device[] {
  return Array.from({ length: 8 }, (_, i) =>
    device(`${agent}-w${i}`, {
      name: text('w', i, L.textLength),
      tags: Array.from({ length: L.tags }, (_, t) => `tag-${t}`),
      names: Array.from({ length: L.names }, (_, n) => `site/${agent}/w${i}/n${n}`),
      capabilities: Array.from({ length: L.capabilities }, (_, c) => capability(c, 64)),
    }),
  );
}

/** 1024 devices of about 5 KB: some 5 MB of JSON, more than the 4 MiB a catch-up answer may be. */
function huge(agent: string): Device[] {
  return Array.from({ length: L.devicesPerAgent }, (_, i) =>
    device(`${agent}-h${i}`, {
      name: text('h', i, L.textLength),
      location: text('l', i, L.textLength),
      capabilities: Array.from({ length: 9 }, (_, c) => capability(c, L.descriptionLength)),
    }),
  );
}

function capability(c: number, descriptionLength: number): Capability {
  return {
    id: `cap-${c}`,
    kind: 'property',
    type: 'temperature',
    unit: '°C',
    description: text('d', c, descriptionLength),
  };
}

function text(prefix: string, i: number, length: number): string {
  return `${prefix}${i} `.padEnd(length, 'x');
}
