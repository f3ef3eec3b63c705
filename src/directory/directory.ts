import type { Clock } from '../util/clock.js';
import { RecentChanges, type ChangesSeen } from '../util/recent-changes.js';
import { ChangeLog } from './change-log.js';
import { Holdings } from './holdings.js';
import type { Delta } from './delta.js';
import { SharedCapabilities } from './shared-capabilities.js';
import { DirectoryReads } from './directory-reads.js';
import {
  heldDelta,
  newOrigin,
  sizedEntries,
  setEndpoint,
  originInfo,
  setChanges,
  storedDevice,
  type Origin,
  type SizedEntry,
  type StoredDevice,
} from './origin.js';
import {
  type AgentInfo,
  type AgentState,
  type DirectoryInit,
  type DirectoryEvent,
  type MdnsNames,
  type NameConflict,
  type SnapshotEntry,
} from './records.js';

// Callers take these from the directory, whose answers they are.
export { SNAPSHOT_PAGE_BYTES, type Changes } from './catch-up.js';
export { toDevice } from './origin.js';

/** `refused`: holding it would pass a bound on devices or bytes; nothing was changed. */
export type ApplyResult = 'applied' | 'stale' | 'gap' | 'refused';

/**
 * The replicated directory: every origin's device set at the (incarnation, version) this agent holds,
 * with the recent deltas of each so that it can serve catch-up for any origin, not only itself.
 * All writes go through here and are announced to subscribers as DirectoryEvents.
 */
export class Directory extends DirectoryReads {
  private readonly listeners = new Set<(e: DirectoryEvent) => void>();
  private readonly site: string;
  private readonly logEntries: number;
  private readonly logDevices: number;
  private readonly holdings: Holdings;
  private readonly stateLog = new RecentChanges(); // origins that appeared, were forgotten or changed state
  private readonly shared = new SharedCapabilities();

  constructor(
    private readonly components: { clock: Clock },
    init: DirectoryInit,
  ) {
    super();
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
      const log = new ChangeLog(0, this.logEntries, this.logDevices);
      origin = newOrigin(name, opts.site ?? this.site, opts, this.components.clock.now(), log);
      this.origins.set(name, origin);
      this.stateLog.bump(name);
      setEndpoint(origin, opts.address, opts.peerPort);
      this.emit({ type: 'agent-joined', agent: name, info: originInfo(origin) });
    } else setEndpoint(origin, opts.address, opts.peerPort);
    return originInfo(origin);
  }

  get stateChanges(): ChangesSeen {
    return this.stateLog;
  }

  /**
   * Applies consecutive deltas of one incarnation. A delta at or below the held version is skipped;
   * one that does not follow on is a gap and nothing after it is applied.
   */
  applyDeltas(name: string, incarnation: number, deltas: readonly Delta[]): ApplyResult {
    const origin = this.origins.get(name);
    if (!origin) throw new Error(`applyDeltas: unknown origin '${name}'`);
    let applied = false;
    for (const offered of deltas) {
      const fresh = incarnation > origin.incarnation && offered.version === 1;
      if (incarnation < origin.incarnation || (incarnation === origin.incarnation && offered.version <= origin.version))
        continue;
      if (!fresh && (incarnation !== origin.incarnation || offered.version !== origin.version + 1))
        return applied ? 'applied' : 'gap';
      const sizes: number[] = []; // deviceBytes of [...added, ...updated]: one JSON.stringify a device, not two
      if (!this.holdings.deltaFits(origin, offered, fresh, sizes)) return applied ? 'applied' : 'refused';
      // The records share equal capabilities; one the held record has already is taken from it.
      const delta = this.shared.delta(offered, (id) => origin.devices.get(id)?.record);
      if (fresh) {
        // Version 1 of a new incarnation starts from nothing, so its delta is the whole set: replace.
        const entries = delta.added.map((device, k) => ({ version: 1, device, bytes: sizes[k] }));
        this.replace(origin, incarnation, 1, entries);
        origin.log.reset(0); // keep the delta itself: peers that hold nothing can be served it
        origin.log.append(heldDelta(origin, delta));
      } else this.applyOne(origin, delta, sizes);
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
    const { sized, bytes } = sizedEntries(entries);
    if (!this.holdings.fits(origin, sized.length, bytes)) return 'refused';
    this.replace(origin, incarnation, version, sized);
    return 'applied';
  }

  /**
   * Drops what is held of this life, back to version 0 (the devices removed): a set taken from a member that its
   * origin's own answer does not confirm (bulk-sets.ts). The origin's catch-up then fetches its whole set.
   */
  withdraw(name: string, incarnation: number): void {
    const origin = this.origins.get(name);
    if (origin && !origin.local && origin.incarnation === incarnation && origin.version > 0)
      this.replace(origin, incarnation, 0, []);
  }

  /** Records that the origin was heard from; a lost origin heard again is alive. */
  touch(name: string, address?: string, peerPort?: number): void {
    const origin = this.origins.get(name);
    if (!origin) return;
    origin.lastSeen = this.components.clock.now();
    setEndpoint(origin, address, peerPort);
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
    this.stateLog.bump(name);
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

  private applyOne(origin: Origin, delta: Delta, sizes: readonly number[]): void {
    origin.version = delta.version;
    const announce = origin.state === 'alive';
    // Added or updated, what the directory held decides the event: a delta's lists are advice.
    for (const [k, device] of [...delta.added, ...delta.updated].entries()) {
      const old = origin.devices.get(device.id);
      const stored = storedDevice(origin, device, delta.version, sizes[k]);
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
    origin.log.append(heldDelta(origin, delta));
    this.naming.invalidate();
  }

  private replace(origin: Origin, incarnation: number, version: number, entries: readonly SizedEntry[]): void {
    const before = origin.devices;
    const after = new Map<string, StoredDevice>();
    if (origin.incarnation !== incarnation) this.stateLog.bump(origin.name); // a view digest names the life
    origin.incarnation = incarnation;
    origin.version = version;
    for (const e of entries)
      after.set(e.device.id, storedDevice(origin, this.shared.device(e.device), e.version, e.bytes));
    const bytes = [...after.values()].reduce((n, x) => n + x.bytes, 0);
    this.holdings.account(origin, after.size - before.size, bytes - origin.bytes);
    origin.devices = after;
    origin.log.reset(version);
    if (origin.state === 'alive') for (const event of setChanges(origin.name, before, after)) this.emit(event);
    this.naming.invalidate();
  }

  private setState(origin: Origin, state: AgentState): void {
    origin.state = state;
    this.stateLog.bump(origin.name);
    this.naming.invalidate();
    const type = state === 'alive' ? 'agent-joined' : state === 'lost' ? 'agent-lost' : 'agent-left';
    this.emit({ type, agent: origin.name, info: originInfo(origin) });
  }

  private emit(event: DirectoryEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
