import type { Changes } from './catch-up.js';
import { NamingIndex } from './naming.js';
import { compare, devicesMatching, originInfo, visible, type Origin } from './origin.js';
import type { AgentInfo, AgentState, DeviceFilter, DeviceRecord, NameLookup } from './records.js';
import { setsPage, type SetsPage } from './sets-page.js';
import { SnapshotMemo } from './snapshot-memo.js';
import type { Delta } from './delta.js';
import { countOrigins, digestAfter, directoryDigest } from './summary.js';

/**
 * The directory's read side: what it holds, as the API, the catch-up server and the sync ask it. Apart from
 * the write side (directory.ts) so that each stays one concept; nothing here changes what is held.
 */
export abstract class DirectoryReads {
  protected readonly origins = new Map<string, Origin>();
  protected readonly naming = new NamingIndex();
  private readonly snapshots = new SnapshotMemo();

  /**
   * The version held of this life of an origin: 0 when another life or nothing is held. Without the object
   * held() makes: a receiver asks it for each of the up to 8 hints of every datagram (change15).
   */
  heldVersion(name: string, incarnation: number): number {
    const o = this.origins.get(name);
    return o !== undefined && o.incarnation === incarnation ? o.version : 0;
  }

  /** Held (incarnation, version) of an origin, or undefined when unknown. */
  held(name: string): { incarnation: number; version: number; state: AgentState } | undefined {
    const o = this.origins.get(name);
    return o && { incarnation: o.incarnation, version: o.version, state: o.state };
  }

  devices(filter: DeviceFilter = {}): DeviceRecord[] {
    const origins = filter.agent !== undefined ? [this.origins.get(filter.agent)] : [...this.origins.values()];
    const known = origins.filter((o) => o !== undefined);
    return devicesMatching(known, filter);
  }

  device(agent: string, id: string, includeLost = false): DeviceRecord | undefined {
    const origin = this.origins.get(agent);
    if (!origin || !visible(origin, includeLost)) return undefined;
    return origin.devices.get(id)?.record;
  }

  agents(): AgentInfo[] {
    return [...this.origins.values()].map((o) => originInfo(o)).sort((a, b) => compare(a.name, b.name));
  }

  /** Whether an agent it knows has its peer endpoint there (no AgentInfo built: a served catch-up asks). */
  hasAgentAt(address: string, peerPort: number): boolean {
    for (const o of this.origins.values()) if (o.address === address && o.peerPort === peerPort) return true;
    return false;
  }

  agent(name: string): AgentInfo | undefined {
    const o = this.origins.get(name);
    return o && originInfo(o);
  }

  lookup(path: string): NameLookup | undefined {
    const alive = [...this.origins.values()].filter((o) => o.state === 'alive');
    return this.naming.lookup(
      path,
      alive.map((o) => ({ name: o.name, devices: [...o.devices.values()].map((s) => s.record) })),
    );
  }

  counts(): { agents: Record<AgentState, number>; devices: number } {
    return countOrigins(this.origins.values());
  }

  /** The deltas after `since`, or a (paged) snapshot, one object per version (SnapshotMemo): never changed. */
  changesSince(name: string, incarnation: number, since: number, after?: string): Changes | undefined {
    const origin = this.origins.get(name);
    if (!origin || origin.version === 0 || origin.remote) return undefined;
    return this.snapshots.changes(origin, incarnation, since, after);
  }

  /** The whole sets of the alive origins after `after` (name order), a page of a bulk catch-up (sets-page.ts). */
  setsPage(after?: string): SetsPage {
    return setsPage(this.origins.values(), (o) => this.snapshots.changes(o, 0, 0), after);
  }

  /** A hash of one origin's set at its version (as `digest`), when held alive: a set held second-hand is checked. */
  setDigest(name: string): string | undefined {
    const o = this.origins.get(name);
    return o && directoryDigest([o]);
  }

  /** The set digest this life of the origin would have once `delta` is applied (summary.ts digestAfter). */
  setDigestAfter(name: string, incarnation: number, delta: Delta): string | undefined {
    return digestAfter(this.origins.get(name), name, incarnation, delta);
  }

  /** A hash of what every alive origin holds: two directories with equal digests serve the same devices. */
  digest(): string {
    return directoryDigest(this.origins.values());
  }

  /** Names of every known origin, without building their records (the swarm's invariants walk them). */
  originNames(): string[] {
    return [...this.origins.keys()];
  }
}
