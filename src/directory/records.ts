import type { HealthState } from '../profiles/checks.js';
import type { Capability, Device } from '../profiles/model.js';

export const AGENT_STATES = ['alive', 'lost', 'left'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** A device as the directory serves it: the profile plus where it comes from. */
export interface DeviceRecord extends Device {
  agent: string;
  site: string;
  /** The origin's incarnation, and the version in which this device last changed. */
  origin: { incarnation: number; version: number };
}

/** One device in a snapshot: the device and the version in which it last changed. */
export interface SnapshotEntry {
  version: number;
  device: Device;
}

export interface NameConflict {
  /** Every incarnation seen claiming this name recently, newest first, with where it came from. */
  claims: { incarnation: number; address?: string; lastSeen: string }[];
}

export interface AgentInfo {
  name: string;
  site: string;
  address?: string;
  peerPort?: number;
  incarnation: number;
  version: number;
  state: AgentState;
  lastSeen: string;
  devices: number;
  local: boolean;
  /** Imported from another site through MQTT: read-only, never announced on the LAN. */
  remote?: boolean;
  conflict?: NameConflict;
  /** This agent's mDNS instance and host labels, once probed (renamed after a conflict). */
  mdns?: MdnsNames;
}

export interface MdnsNames {
  instance: string;
  host: string;
}

export interface DeviceFilter {
  agent?: string;
  /** Matches a capability id or a capability type. */
  capability?: string;
  kind?: Capability['kind'];
  tag?: string;
  /** A global-name prefix, on segment boundaries: `greenhouse` matches `greenhouse/climate`. */
  name?: string;
  site?: string;
  /** A device without checks counts as passing (as a service without checks does in Consul). */
  health?: HealthState;
  includeLost?: boolean;
}

export type DirectoryEvent =
  | { type: 'device-added' | 'device-updated'; agent: string; device: DeviceRecord }
  | { type: 'device-removed'; agent: string; id: string }
  | { type: 'agent-joined' | 'agent-lost' | 'agent-left'; agent: string; info: AgentInfo };

export type DirectoryEventType = DirectoryEvent['type'];

export type NameLookup =
  | { path: string; kind: 'device'; device: DeviceRecord; conflict?: { candidates: { agent: string; id: string }[] } }
  | { path: string; kind: 'capability'; device: DeviceRecord; capability: Capability }
  | {
      path: string;
      kind: 'branch';
      children: { name: string; kind: 'agent' | 'device' | 'capability' | 'name' | 'branch' }[];
    };

export function matchesFilter(record: DeviceRecord, f: DeviceFilter): boolean {
  if (f.agent !== undefined && record.agent !== f.agent) return false;
  if (f.site !== undefined && record.site !== f.site) return false;
  if (f.tag !== undefined && !record.tags.includes(f.tag)) return false;
  if (f.capability !== undefined && !record.capabilities.some((c) => c.id === f.capability || c.type === f.capability))
    return false;
  if (f.kind !== undefined && !record.capabilities.some((c) => c.kind === f.kind)) return false;
  if (f.health !== undefined && (record.health?.status ?? 'passing') !== f.health) return false;
  if (f.name !== undefined) {
    const p = f.name.replace(/\/+$/, '');
    if (!record.names.some((n) => n === p || n.startsWith(p + '/'))) return false;
  }
  return true;
}

export interface DirectoryInit {
  /** This agent's site: records of origins learnt over the LAN carry it. */
  site: string;
  /** Deltas kept per origin for catch-up; past that a peer gets a snapshot. */
  changeLogEntries?: number;
  /** Devices carried by the kept deltas of one origin, so that big deltas do not pin memory. */
  changeLogDevices?: number;
  /** Bounds on what is held of all remote origins together: a flood of names cannot grow memory. */
  maxDevices?: number;
  maxBytes?: number;
}
