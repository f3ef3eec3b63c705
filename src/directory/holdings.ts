import { PROFILE_LIMITS, type Device } from '../profiles/model.js';
import type { Delta } from './delta.js';

/** What Holdings needs to know of an origin's entry. */
export interface HeldOrigin {
  local: boolean;
  devices: ReadonlyMap<string, { bytes: number }>;
  /** Sum of its devices' bytes, kept by Holdings.account. */
  bytes: number;
}

/**
 * The bounds on what the directory holds of remote origins: devices per origin (what one agent may
 * declare), and devices and device JSON bytes of all remote origins together. A flood of made-up
 * agents cannot grow memory past them; what would pass them is refused whole, never half-applied.
 */
export class Holdings {
  private devices = 0;
  private bytes = 0;

  constructor(private readonly limits: { devices: number; bytes: number }) {}

  /** Whether the origin may hold this many devices and bytes. */
  fits(origin: HeldOrigin, devices: number, bytes: number): boolean {
    if (origin.local) return true;
    if (devices > PROFILE_LIMITS.devicesPerAgent) return false;
    return (
      this.devices - origin.devices.size + devices <= this.limits.devices &&
      this.bytes - origin.bytes + bytes <= this.limits.bytes
    );
  }

  /**
   * Whether holding the origin with this delta applied (`fresh`: replacing all it held) stays within bounds.
   * `sizes` gets deviceBytes of each of `[...added, ...updated]`, in that order: the directory stores them
   * rather than stringify each device a second time (~5 % of a receiver's handling of a change, change14).
   */
  deltaFits(origin: HeldOrigin, delta: Delta, fresh: boolean, sizes: number[] = []): boolean {
    const all = [...delta.added, ...delta.updated];
    for (const device of all) sizes.push(deviceBytes(device));
    if (fresh) return this.fits(origin, delta.added.length, sizes.slice(0, delta.added.length).reduce(add, 0));
    let devices = origin.devices.size;
    let bytes = origin.bytes;
    const touched = new Set<string>();
    for (const [k, device] of all.entries()) {
      if (touched.has(device.id)) continue;
      touched.add(device.id);
      const old = origin.devices.get(device.id);
      devices += old ? 0 : 1;
      bytes += sizes[k] - (old?.bytes ?? 0);
    }
    for (const id of delta.removed) {
      const old = origin.devices.get(id);
      if (!old || touched.has(id)) continue;
      devices -= 1;
      bytes -= old.bytes;
    }
    return this.fits(origin, devices, bytes);
  }

  /** Records a change of what the origin holds. */
  account(origin: HeldOrigin, devices: number, bytes: number): void {
    origin.bytes += bytes;
    if (origin.local) return;
    this.devices += devices;
    this.bytes += bytes;
  }
}

/** The size a device takes in a catch-up answer, near enough for paging and bounds. */
export function deviceBytes(device: Device): number {
  return JSON.stringify(device).length + 16;
}

const add = (a: number, b: number) => a + b;

export function sumBytes(devices: readonly Device[]): number {
  return devices.reduce((n, d) => n + deviceBytes(d), 0);
}

export function deltasBytes(deltas: readonly Delta[]): number {
  return deltas.reduce((n, d) => n + sumBytes(d.added) + sumBytes(d.updated), 0);
}
