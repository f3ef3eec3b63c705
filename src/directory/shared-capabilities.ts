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

  device(device: Device): Device {
    if (Object.isFrozen(device.capabilities)) return device;
    return { ...device, capabilities: Object.freeze(device.capabilities.map((c) => this.one(c))) as Capability[] };
  }

  delta(delta: Delta): Delta {
    const share = (devices: Device[]) => devices.map((d) => this.device(d));
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
