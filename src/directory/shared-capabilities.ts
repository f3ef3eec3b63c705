import type { Capability, Device } from '../profiles/model.js';
import type { Delta } from './delta.js';

/** Distinct capabilities kept for sharing; past it the table starts again (later copies are shared anew). */
const KEPT = 4096;

/**
 * One copy of each distinct capability for the whole directory. Devices of one model declare equal
 * capabilities, and a site of 5,000 such devices held 5,000 equal copies of each, with their longer
 * strings (V8 shares a parsed string only up to 10 characters, so each "temperature" was its own).
 * The shared copy is made by JSON.parse, which lays its fields out in the object itself, and frozen:
 * records are read, never changed. A device whose capability list is frozen was shared already.
 */
export class SharedCapabilities {
  private readonly byJson = new Map<string, Capability>();

  /**
   * `previous`: the record the directory holds of this device, if any. A capability equal to the one at the
   * same place there is that (already shared) object: an update nearly always leaves a device's capabilities
   * as they were, and finding the shared copy by its JSON cost a JSON.stringify a capability on every
   * receiver of every change (~6 % of a receiver's handling, change13/14).
   */
  device(device: Device, previous?: Device): Device {
    if (Object.isFrozen(device.capabilities)) return device;
    const before = previous?.capabilities;
    const share = (c: Capability, i: number) => (before && equalFields(before[i], c) ? before[i] : this.one(c));
    return { ...device, capabilities: Object.freeze(device.capabilities.map(share)) as Capability[] };
  }

  /** `held(id)`: the record held of a device of the delta's origin (see device). */
  delta(delta: Delta, held: (id: string) => Device | undefined = () => undefined): Delta {
    const share = (devices: Device[]) => devices.map((d) => this.device(d, held(d.id)));
    return { ...delta, added: share(delta.added), updated: share(delta.updated) };
  }

  private one(capability: Capability): Capability {
    const json = JSON.stringify(capability);
    let shared = this.byJson.get(json);
    if (shared === undefined) {
      if (this.byJson.size >= KEPT) this.byJson.clear();
      shared = Object.freeze(JSON.parse(json) as Capability);
      this.byJson.set(json, shared);
    }
    return shared;
  }
}

/**
 * Whether two capabilities have the same fields with the same values (===: a capability's fields are strings
 * and booleans). Key order is not compared: the records' JSON is compared and hashed in canonical order
 * (canonicalJson), and the wire and the profiles both give capabilities in normalizeCapability's order.
 */
function equalFields(a: object | undefined, b: object): boolean {
  if (a === undefined) return false;
  const [was, now] = [a as Record<string, unknown>, b as Record<string, unknown>];
  let fields = 0;
  for (const key in now) {
    const value = now[key];
    if (value !== null && typeof value === 'object') return false; // not a flat capability: by its JSON
    if (was[key] !== value) return false;
    fields += 1;
  }
  for (const key in was) if (Object.hasOwn(was, key)) fields -= 1;
  return fields === 0;
}
