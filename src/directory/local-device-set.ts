import type { Device } from '../profiles/model.js';
import { expandEndpoint } from '../profiles/validate.js';
import { computeDelta, isEmptyDelta, type Delta } from './delta.js';
import type { Directory } from './directory.js';

/**
 * This agent's own devices. Every effective change of the set is exactly one new version, with its
 * delta applied to the directory (where peers' catch-up requests find it) and handed to listeners
 * (the announcer). Endpoints are expanded here, once, so that every peer sees concrete URLs.
 */
export class LocalDeviceSet {
  private current = new Map<string, Device>();
  private version = 0;
  private readonly listeners = new Set<(delta: Delta) => void>();

  constructor(
    private readonly components: { directory: Directory },
    private readonly init: { name: string; incarnation: number; address: string; host: string },
  ) {
    components.directory.ensureOrigin(init.name, { local: true, address: init.address });
  }

  onChange(listener: (delta: Delta) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get currentVersion(): number {
    return this.version;
  }

  get incarnation(): number {
    return this.init.incarnation;
  }

  devices(): Device[] {
    return [...this.current.values()];
  }

  /**
   * Makes `devices` the device set. Returns the new version's delta, or undefined when nothing changed.
   * The first call always makes version 1 (even when empty), so peers can tell "holds an empty set"
   * from "holds nothing yet".
   */
  replaceAll(devices: readonly Device[]): Delta | undefined {
    const expanded = devices.map((d) => this.expand(d));
    const delta = computeDelta(this.current, expanded, this.version + 1);
    if (this.version > 0 && isEmptyDelta(delta)) return undefined;
    this.version = delta.version;
    this.current = new Map(expanded.map((d) => [d.id, d]));
    const result = this.components.directory.applyDeltas(this.init.name, this.init.incarnation, [delta]);
    if (result !== 'applied') throw new Error(`local delta ${delta.version} was not applied (${result})`);
    for (const l of this.listeners) l(delta);
    return delta;
  }

  private expand(device: Device): Device {
    if (!device.capabilities.some((c) => c.endpoint)) return device;
    return {
      ...device,
      capabilities: device.capabilities.map((c) =>
        c.endpoint ? { ...c, endpoint: expandEndpoint(c.endpoint, this.init.address, this.init.host) } : c,
      ),
    };
  }
}
