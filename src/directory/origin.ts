import { canonicalJson, type Device } from '../profiles/model.js';
import type { ChangeLog } from './change-log.js';
import type { Delta } from './delta.js';
import { deviceBytes } from './holdings.js';
import {
  matchesFilter,
  type AgentInfo,
  type AgentState,
  type DeviceFilter,
  type DeviceRecord,
  type DirectoryEvent,
  type MdnsNames,
  type NameConflict,
  type SnapshotEntry,
} from './records.js';

/** One device as the directory holds it, at the version of its origin that last changed it. */
export interface StoredDevice {
  version: number;
  record: DeviceRecord;
  /** Its JSON size, for paging and for the bound on bytes held. */
  bytes: number;
}

/** Everything the directory holds of one agent (an origin of devices). */
export interface Origin {
  name: string;
  site: string;
  local: boolean;
  remote: boolean;
  incarnation: number;
  version: number;
  state: AgentState;
  lastSeen: number;
  address?: string;
  peerPort?: number;
  devices: Map<string, StoredDevice>;
  /** Sum of its devices' `bytes`. */
  bytes: number;
  log: ChangeLog;
  conflict?: NameConflict;
  mdns?: MdnsNames;
  /** The origin of the records made last (see stampOf). */
  stamp?: Readonly<DeviceRecord['origin']>;
}

/** An origin first heard of: alive, holding nothing yet (version 0). */
export function newOrigin(
  name: string,
  site: string,
  opts: { local?: boolean; remote?: boolean },
  now: number,
  log: ChangeLog,
): Origin {
  const { local = false, remote = false } = opts;
  return {
    name,
    site,
    local,
    remote,
    incarnation: 0,
    version: 0,
    state: 'alive',
    lastSeen: now,
    devices: new Map(),
    bytes: 0,
    log,
  };
}

/** The events that tell subscribers how an origin's set changed when it was replaced by a snapshot. */
export function setChanges(
  agent: string,
  before: ReadonlyMap<string, StoredDevice>,
  after: ReadonlyMap<string, StoredDevice>,
): DirectoryEvent[] {
  const events: DirectoryEvent[] = [];
  for (const [id, stored] of after) {
    const old = before.get(id);
    if (!old) events.push({ type: 'device-added', agent, device: stored.record });
    else if (canonicalJson(toDevice(old.record)) !== canonicalJson(toDevice(stored.record))) {
      events.push({ type: 'device-updated', agent, device: stored.record });
    }
  }
  for (const id of before.keys()) if (!after.has(id)) events.push({ type: 'device-removed', agent, id });
  return events;
}

/** Where an origin's peer server is, as last heard. */
export function setEndpoint(origin: Origin, address?: string, peerPort?: number): void {
  if (address !== undefined) origin.address = address;
  if (peerPort !== undefined) origin.peerPort = peerPort;
}

/** The served devices of these origins that match the filter, in (agent, id) order. */
export function devicesMatching(origins: readonly Origin[], filter: DeviceFilter): DeviceRecord[] {
  const out: DeviceRecord[] = [];
  for (const origin of origins) {
    if (!visible(origin, filter.includeLost ?? false)) continue;
    for (const stored of origin.devices.values()) if (matchesFilter(stored.record, filter)) out.push(stored.record);
  }
  return out.sort((a, b) => (a.agent === b.agent ? compare(a.id, b.id) : compare(a.agent, b.agent)));
}

/** Whether an origin's devices are served: alive ones, and lost ones when asked for. */
export function visible(origin: Origin, includeLost: boolean): boolean {
  return origin.state === 'alive' || (includeLost && origin.state === 'lost');
}

/** A snapshot entry with its deviceBytes, when the bounds already counted them: one JSON serialisation, not two. */
export type SizedEntry = SnapshotEntry & { bytes?: number };

export function sizedEntries(entries: readonly SnapshotEntry[]): { sized: SizedEntry[]; bytes: number } {
  const sized = entries.map((e) => ({ ...e, bytes: deviceBytes(e.device) }));
  return { sized, bytes: sized.reduce((n, e) => n + e.bytes, 0) };
}

/** A device of an origin as the directory stores it: the record it serves, with its size. */
export function storedDevice(
  origin: Origin,
  device: Device,
  version: number,
  bytes = deviceBytes(device),
): StoredDevice {
  const record: DeviceRecord = { agent: origin.name, site: origin.site, ...device, origin: stampOf(origin, version) };
  return { version, record, bytes };
}

/**
 * The (incarnation, version) a record names, one frozen object for all the records of one version: the
 * 50 devices of a delta shared one instead of 50 (each with its boxed incarnation, a 13-digit number).
 */
function stampOf(origin: Origin, version: number): DeviceRecord['origin'] {
  const last = origin.stamp;
  if (last?.incarnation === origin.incarnation && last.version === version) return last;
  return (origin.stamp = Object.freeze({ incarnation: origin.incarnation, version }));
}

/**
 * A delta as the change log holds it: the origin's records in place of the devices they were made of. A
 * record is its device with three fields more (catch-up serves it without them, catch-up.ts), so each
 * device is one object, not a record beside the device it was made of: 5,000 objects at 5,000 devices.
 */
export function heldDelta(origin: Origin, delta: Delta): Delta {
  const held = (device: Device): Device => origin.devices.get(device.id)?.record ?? device;
  return { ...delta, added: delta.added.map(held), updated: delta.updated.map(held) };
}

/** What the API and the events tell of an origin. */
export function originInfo(o: Origin): AgentInfo {
  const info: AgentInfo = {
    name: o.name,
    site: o.site,
    incarnation: o.incarnation,
    version: o.version,
    state: o.state,
    lastSeen: new Date(o.lastSeen).toISOString(),
    devices: o.devices.size,
    local: o.local,
  };
  if (o.address !== undefined) info.address = o.address;
  if (o.peerPort !== undefined) info.peerPort = o.peerPort;
  if (o.conflict) info.conflict = o.conflict;
  if (o.mdns) info.mdns = o.mdns;
  if (o.remote) info.remote = true;
  return info;
}

/** The device part of a record (or a device already), as it travels between agents. */
export function toDevice(record: Device): Device {
  // Copied field by field, not spread then `delete`d: an object that lost a property is slower to
  // serialise, and catch-up serialises every device of the log this way.
  const device: Record<string, unknown> = {};
  for (const key of Object.keys(record))
    if (key !== 'agent' && key !== 'site' && key !== 'origin') device[key] = record[key as keyof Device];
  return device as unknown as Device;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
