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

  /** Whether holding the origin with this delta applied (`fresh`: replacing all it held) stays within bounds. */
  deltaFits(origin: HeldOrigin, delta: Delta, fresh: boolean): boolean {
    if (fresh) return this.fits(origin, delta.added.length, sumBytes(delta.added));
    let devices = origin.devices.size;
    let bytes = origin.bytes;
    const touched = new Set<string>();
    for (const device of [...delta.added, ...delta.updated]) {
      if (touched.has(device.id)) continue;
      touched.add(device.id);
      const old = origin.devices.get(device.id);
      devices += old ? 0 : 1;
      bytes += deviceBytes(device) - (old?.bytes ?? 0);
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

export function sumBytes(devices: readonly Device[]): number {
  return devices.reduce((n, d) => n + deviceBytes(d), 0);
}

export function deltasBytes(deltas: readonly Delta[]): number {
  return deltas.reduce((n, d) => n + sumBytes(d.added) + sumBytes(d.updated), 0);
}
