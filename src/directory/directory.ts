import { createHash } from 'node:crypto';
import { canonicalJson, type Device } from '../profiles/model.js';
import type { Clock } from '../util/clock.js';
import { ChangeLog } from './change-log.js';
import { deltasBytes, deviceBytes, Holdings, sumBytes } from './holdings.js';
import type { Delta } from './delta.js';
import { NamingIndex } from './naming.js';
import {
  matchesFilter,
  type AgentInfo,
  type AgentState,
  type DeviceFilter,
  type DeviceRecord,
  type DirectoryEvent,
  type MdnsNames,
  type NameConflict,
  type NameLookup,
  type SnapshotEntry,
} from './records.js';

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

/** A catch-up answer is cut into pages of about this much device JSON: far below the 4 MiB answer cap. */
export const SNAPSHOT_PAGE_BYTES = 1024 * 1024;

/** What a peer that holds `since` of an origin needs to reach the current version. */
export type Changes =
  | { kind: 'deltas'; origin: string; incarnation: number; version: number; deltas: Delta[] }
  | {
      kind: 'snapshot';
      origin: string;
      incarnation: number;
      version: number;
      entries: SnapshotEntry[];
      /** Set on every page but the last: the id to continue after. Entries come in id order. */
      next?: string;
    };

/** `refused`: holding it would pass a bound on devices or bytes; nothing was changed. */
export type ApplyResult = 'applied' | 'stale' | 'gap' | 'refused';

interface StoredDevice {
  version: number;
  record: DeviceRecord;
  /** Its JSON size, for paging and for the bound on bytes held. */
  bytes: number;
}

interface Origin {
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
}

/**
 * The replicated directory: every origin's device set at the (incarnation, version) this agent holds,
 * with the recent deltas of each so that it can serve catch-up for any origin, not only itself.
 * All writes go through here and are announced to subscribers as DirectoryEvents.
 */
export class Directory {
  private readonly origins = new Map<string, Origin>();
  private readonly listeners = new Set<(e: DirectoryEvent) => void>();
  private readonly naming = new NamingIndex();
  private readonly site: string;
  private readonly logEntries: number;
  private readonly logDevices: number;
  private readonly holdings: Holdings;

  constructor(
    private readonly components: { clock: Clock },
    init: DirectoryInit,
  ) {
    this.site = init.site;
    this.logEntries = init.changeLogEntries ?? 64; // minutes of churn at one change a second
    this.logDevices = init.changeLogDevices ?? 512; // a snapshot of a large host is cheaper than a long log
    this.holdings = new Holdings({
      devices: init.maxDevices ?? 50_000, // fifty full hosts; far above any real site
      // Device JSON held (memory is a few times this): a dozen hosts of devices as large as the rules admit.
      bytes: init.maxBytes ?? 64 * 1024 * 1024,
    });
  }

  subscribe(listener: (e: DirectoryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- write side -------------------------------------------------------------------------------

  /** Registers an origin the first time it is heard of; held version 0 means nothing is held yet. */
  ensureOrigin(
    name: string,
    opts: { local?: boolean; remote?: boolean; site?: string; address?: string; peerPort?: number } = {},
  ): AgentInfo {
    let origin = this.origins.get(name);
    if (!origin) {
      origin = {
        name,
        site: opts.site ?? this.site,
        local: opts.local ?? false,
        remote: opts.remote ?? false,
        incarnation: 0,
        version: 0,
        state: 'alive',
        lastSeen: this.components.clock.now(),
        devices: new Map(),
        bytes: 0,
        log: new ChangeLog(0, this.logEntries, this.logDevices),
      };
      this.origins.set(name, origin);
      this.updateEndpoint(origin, opts.address, opts.peerPort);
      this.emit({ type: 'agent-joined', agent: name, info: this.info(origin) });
    } else this.updateEndpoint(origin, opts.address, opts.peerPort);
    return this.info(origin);
  }

  /** Held (incarnation, version) of an origin, or undefined when unknown. */
  held(name: string): { incarnation: number; version: number; state: AgentState } | undefined {
    const o = this.origins.get(name);
    return o && { incarnation: o.incarnation, version: o.version, state: o.state };
  }

  /**
   * Applies consecutive deltas of one incarnation. A delta at or below the held version is skipped;
   * one that does not follow on is a gap and nothing after it is applied.
   */
  applyDeltas(name: string, incarnation: number, deltas: readonly Delta[]): ApplyResult {
    const origin = this.origins.get(name);
    if (!origin) throw new Error(`applyDeltas: unknown origin '${name}'`);
    let applied = false;
    for (const delta of deltas) {
      const fresh = incarnation > origin.incarnation && delta.version === 1;
      if (incarnation < origin.incarnation || (incarnation === origin.incarnation && delta.version <= origin.version))
        continue;
      if (!fresh && (incarnation !== origin.incarnation || delta.version !== origin.version + 1))
        return applied ? 'applied' : 'gap';
      if (!this.holdings.deltaFits(origin, delta, fresh)) return applied ? 'applied' : 'refused';
      if (fresh) {
        // Version 1 of a new incarnation starts from nothing, so its delta is the whole set: replace.
        this.replace(
          origin,
          incarnation,
          1,
          delta.added.map((device) => ({ version: 1, device })),
        );
        origin.log.reset(0); // keep the delta itself: peers that hold nothing can be served it
        origin.log.append(delta);
      } else {
        this.applyOne(origin, delta);
      }
      applied = true;
    }
    return applied ? 'applied' : 'stale';
  }

  /** Replaces an origin's set with a snapshot, emitting only what differs from what was held. */
  applySnapshot(name: string, incarnation: number, version: number, entries: readonly SnapshotEntry[]): ApplyResult {
    const origin = this.origins.get(name);
    if (!origin) throw new Error(`applySnapshot: unknown origin '${name}'`);
    if (incarnation < origin.incarnation || (incarnation === origin.incarnation && version <= origin.version))
      return 'stale';
    const bytes = sumBytes(entries.map((e) => e.device));
    if (!this.holdings.fits(origin, entries.length, bytes)) return 'refused';
    this.replace(origin, incarnation, version, entries);
    return 'applied';
  }

  /** Records that the origin was heard from; a lost origin heard again is alive. */
  touch(name: string, address?: string, peerPort?: number): void {
    const origin = this.origins.get(name);
    if (!origin) return;
    origin.lastSeen = this.components.clock.now();
    this.updateEndpoint(origin, address, peerPort);
    if (origin.state === 'lost') this.setState(origin, 'alive');
  }

  /** Marks a restarted or returning origin alive even after a goodbye (a new incarnation). */
  revive(name: string): void {
    const origin = this.origins.get(name);
    if (origin && origin.state !== 'alive') this.setState(origin, 'alive');
  }

  markLost(name: string): void {
    const origin = this.origins.get(name);
    if (origin && origin.state === 'alive' && !origin.local) this.setState(origin, 'lost');
  }

  markLeft(name: string): void {
    const origin = this.origins.get(name);
    if (origin && origin.state !== 'left' && !origin.local) this.setState(origin, 'left');
  }

  /** Drops an origin entirely (one that left or was lost long ago). */
  forget(name: string): void {
    const origin = this.origins.get(name);
    if (!origin || origin.local) return;
    this.origins.delete(name);
    this.holdings.account(origin, -origin.devices.size, -origin.bytes);
    if (origin.state === 'alive')
      for (const id of origin.devices.keys()) this.emit({ type: 'device-removed', agent: name, id });
    this.naming.invalidate();
  }

  setConflict(name: string, conflict: NameConflict | undefined): void {
    const origin = this.origins.get(name);
    if (origin) origin.conflict = conflict;
  }

  /** The mDNS names a local agent publishes under (after a conflict, `name (2)`): shown in /v1/agents. */
  setMdnsNames(name: string, mdns: MdnsNames): void {
    const origin = this.origins.get(name);
    if (origin) origin.mdns = mdns;
  }

  // ---- read side --------------------------------------------------------------------------------

  /**
   * The deltas after `since`, or a snapshot when the log does not reach back, the incarnation differs or
   * the deltas would not fit a page. A snapshot larger than a page comes in pages: `after` continues one.
   */
  changesSince(name: string, incarnation: number, since: number, after?: string): Changes | undefined {
    const origin = this.origins.get(name);
    if (!origin || origin.version === 0 || origin.remote) return undefined;
    const base = { origin: name, incarnation: origin.incarnation, version: origin.version };
    if (after === undefined && incarnation === origin.incarnation && since <= origin.version) {
      const deltas = origin.log.since(since);
      if (deltas && deltasBytes(deltas) <= SNAPSHOT_PAGE_BYTES) return { kind: 'deltas', ...base, deltas };
    }
    const page = [...origin.devices.entries()].filter(([id]) => after === undefined || id > after);
    const entries: SnapshotEntry[] = [];
    let bytes = 0;
    for (const [, stored] of page.sort((a, b) => compare(a[0], b[0]))) {
      if (entries.length > 0 && bytes + stored.bytes > SNAPSHOT_PAGE_BYTES) {
        return { kind: 'snapshot', ...base, entries, next: entries[entries.length - 1].device.id };
      }
      bytes += stored.bytes;
      entries.push({ version: stored.version, device: toDevice(stored.record) });
    }
    return { kind: 'snapshot', ...base, entries };
  }

  devices(filter: DeviceFilter = {}): DeviceRecord[] {
    const out: DeviceRecord[] = [];
    const origins =
      filter.agent !== undefined
        ? [this.origins.get(filter.agent)].filter((o) => o !== undefined)
        : this.origins.values();
    for (const origin of origins) {
      if (!this.visible(origin, filter.includeLost ?? false)) continue;
      for (const stored of origin.devices.values()) if (matchesFilter(stored.record, filter)) out.push(stored.record);
    }
    return out.sort((a, b) => (a.agent === b.agent ? compare(a.id, b.id) : compare(a.agent, b.agent)));
  }

  device(agent: string, id: string, includeLost = false): DeviceRecord | undefined {
    const origin = this.origins.get(agent);
    if (!origin || !this.visible(origin, includeLost)) return undefined;
    return origin.devices.get(id)?.record;
  }

  agents(): AgentInfo[] {
    return [...this.origins.values()].map((o) => this.info(o)).sort((a, b) => compare(a.name, b.name));
  }

  agent(name: string): AgentInfo | undefined {
    const o = this.origins.get(name);
    return o && this.info(o);
  }

  lookup(path: string): NameLookup | undefined {
    const alive = [...this.origins.values()].filter((o) => o.state === 'alive');
    return this.naming.lookup(
      path,
      alive.map((o) => ({ name: o.name, devices: [...o.devices.values()].map((s) => s.record) })),
    );
  }

  counts(): { agents: Record<AgentState, number>; devices: number } {
    const agents: Record<AgentState, number> = { alive: 0, lost: 0, left: 0 };
    let devices = 0;
    for (const o of this.origins.values()) {
      agents[o.state] += 1;
      if (o.state === 'alive') devices += o.devices.size;
    }
    return { agents, devices };
  }

  /** A hash of what every alive origin holds: two directories with equal digests serve the same devices. */
  digest(): string {
    const hash = createHash('sha256');
    for (const o of [...this.origins.values()].sort((a, b) => compare(a.name, b.name))) {
      if (o.state !== 'alive' || o.version === 0) continue;
      hash.update(`${o.name}\0${o.incarnation}\0${o.version}\0`);
      const sorted = [...o.devices.entries()].sort((a, b) => compare(a[0], b[0]));
      for (const [, stored] of sorted) hash.update(canonicalJson(toDevice(stored.record)));
    }
    return hash.digest('hex').slice(0, 16);
  }

  /** Names of every known origin, without building their records (the swarm's invariants walk them). */
  originNames(): string[] {
    return [...this.origins.keys()];
  }

  // ---- internals --------------------------------------------------------------------------------

  private visible(origin: Origin, includeLost: boolean): boolean {
    return origin.state === 'alive' || (includeLost && origin.state === 'lost');
  }

  private applyOne(origin: Origin, delta: Delta): void {
    origin.version = delta.version;
    origin.log.append(delta);
    const announce = origin.state === 'alive';
    // Added or updated, what the directory held decides the event: a delta's lists are advice.
    for (const device of [...delta.added, ...delta.updated]) {
      const old = origin.devices.get(device.id);
      const stored = this.store(origin, device, delta.version);
      origin.devices.set(device.id, stored);
      this.holdings.account(origin, old ? 0 : 1, stored.bytes - (old?.bytes ?? 0));
      if (announce)
        this.emit({ type: old ? 'device-updated' : 'device-added', agent: origin.name, device: stored.record });
    }
    for (const id of delta.removed) {
      const old = origin.devices.get(id);
      if (!old) continue;
      origin.devices.delete(id);
      this.holdings.account(origin, -1, -old.bytes);
      if (announce) this.emit({ type: 'device-removed', agent: origin.name, id });
    }
    this.naming.invalidate();
  }

  private replace(origin: Origin, incarnation: number, version: number, entries: readonly SnapshotEntry[]): void {
    const before = origin.devices;
    const after = new Map<string, StoredDevice>();
    origin.incarnation = incarnation;
    origin.version = version;
    for (const entry of entries) after.set(entry.device.id, this.store(origin, entry.device, entry.version));
    this.holdings.account(
      origin,
      after.size - before.size,
      [...after.values()].reduce((n, x) => n + x.bytes, 0) - origin.bytes,
    );
    origin.devices = after;
    origin.log.reset(version);
    if (origin.state === 'alive') {
      for (const [id, stored] of after) {
        const old = before.get(id);
        if (!old) this.emit({ type: 'device-added', agent: origin.name, device: stored.record });
        else if (canonicalJson(toDevice(old.record)) !== canonicalJson(toDevice(stored.record))) {
          this.emit({ type: 'device-updated', agent: origin.name, device: stored.record });
        }
      }
      for (const id of before.keys()) if (!after.has(id)) this.emit({ type: 'device-removed', agent: origin.name, id });
    }
    this.naming.invalidate();
  }

  private store(origin: Origin, device: Device, version: number): StoredDevice {
    const record: DeviceRecord = {
      agent: origin.name,
      site: origin.site,
      ...device,
      origin: { incarnation: origin.incarnation, version },
    };
    return { version, record, bytes: deviceBytes(device) };
  }

  private setState(origin: Origin, state: AgentState): void {
    origin.state = state;
    this.naming.invalidate();
    const type = state === 'alive' ? 'agent-joined' : state === 'lost' ? 'agent-lost' : 'agent-left';
    this.emit({ type, agent: origin.name, info: this.info(origin) });
  }

  private updateEndpoint(origin: Origin, address?: string, peerPort?: number): void {
    if (address !== undefined) origin.address = address;
    if (peerPort !== undefined) origin.peerPort = peerPort;
  }

  private info(o: Origin): AgentInfo {
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

  private emit(event: DirectoryEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** The device part of a record, as it travels between agents. */
export function toDevice(record: DeviceRecord): Device {
  const device: Partial<DeviceRecord> = { ...record };
  delete device.agent;
  delete device.site;
  delete device.origin;
  return device as Device;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
