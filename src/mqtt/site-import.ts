import type { Delta } from '../directory/delta.js';
import type { Directory } from '../directory/directory.js';
import type { Counter } from '../metrics/registry.js';
import type { Clock } from '../util/clock.js';
import { PROFILE_LIMITS, sameDevice, type Device } from '../profiles/model.js';
import { isObject, validateDevice } from '../profiles/validate.js';
import { ImportQueue, type Pending } from './import-queue.js';

interface ImportedAgent {
  /** `seen`: the read-back generation in which the broker last delivered the record. */
  devices: Map<string, { device: Device; bytes: number; seen: number }>;
  version: number;
  /** What the agent's retained state says: an offline agent's records are held, not served. */
  online: boolean;
}

/** Says why an imported message was refused: counted under `reason`, logged once per topic a minute. */
export type BadInput = (reason: string, where: string, detail?: string) => void;

/**
 * What one agent may hold of other sites. Anyone who can publish under an imported site's topics
 * controls what is retained there, so every bound is counted when it refuses (docs/security.md).
 */
export interface ImportLimits {
  /** Devices of one imported agent: the same bound as a LAN peer's. */
  devicesPerAgent: number;
  /** Imported agents, over all imported sites. */
  agents: number;
  /** Imported devices, over all imported sites. */
  devices: number;
  /** Bytes of imported records held, over all imported sites. */
  bytes: number;
  /** One record's payload: a valid device is a few kilobytes. */
  recordBytes: number;
}

/** The metric label of each bound. */
type RefusalReason = 'devices-per-agent' | 'agents' | 'devices' | 'bytes' | 'record-bytes' | 'queue';

export const DEFAULT_IMPORT_LIMITS: ImportLimits = {
  devicesPerAgent: PROFILE_LIMITS.devicesPerAgent,
  agents: 1_000,
  // As many as the agent's own memory target is measured with (5,000 devices within 60 MB), so what is held
  // stays inside it; a federation larger than this wants a real registry.
  devices: 5_000,
  bytes: 16 * 1024 * 1024,
  recordBytes: 64 * 1024,
};

/**
 * Other sites' directories, read from their retained topics: each remote agent becomes a read-only
 * origin `agent@site` in the directory, never announced on the LAN, gone when its agent goes offline.
 * Each message is applied on its own as a one-device delta (no copy of the agent's set per message),
 * so a site of tens of thousands of retained records costs time linear in its size.
 */
export class SiteImport {
  private readonly imported = new Map<string, ImportedAgent>();
  private devicesHeld = 0;
  private bytesHeld = 0;
  private readonly queue: ImportQueue;
  /** Queued records that would add a device, by imported agent: they count against the bounds already. */
  private readonly pendingAdds = new Map<string, number>();
  private pendingAddsTotal = 0;
  /** Read-backs started: a record not delivered again in the current one is gone from the broker. */
  private generation = 0;

  constructor(
    private readonly c: {
      clock: Clock;
      directory: Directory;
      badInput: BadInput;
      refused: Counter;
      onRefused: BadInput;
    },
    readonly sites: readonly string[],
    private readonly limits: ImportLimits = DEFAULT_IMPORT_LIMITS,
  ) {
    this.queue = new ImportQueue(c, (m) => this.apply(m), limits.bytes);
  }

  /** Imported devices and bytes held now. */
  held(): { agents: number; devices: number; bytes: number } {
    return { agents: this.imported.size, devices: this.devicesHeld, bytes: this.bytesHeld };
  }

  /**
   * Takes one message of an imported site. The broker delivers a site's retained records in one burst
   * (tens of thousands after a subscribe); they are applied in slices that yield to the event loop.
   */
  enqueue(site: string, agent: string, device: string | undefined, payload: Buffer): void {
    this.queue.arrived();
    const where = `${site}/${agent}/${device ?? ''}`;
    const key = `${agent}@${site}`;
    const held = device !== undefined && this.imported.get(key)?.devices.has(device);
    // Clearing a record that is neither held nor on its way changes nothing: not even queued.
    if (device !== undefined && payload.length === 0 && !held && !this.pendingAdds.has(key)) return;
    const adds = device !== undefined && payload.length > 0 && !held;
    // A record past a bound is refused as it arrives, before it is queued or parsed: a flood costs what the
    // bounds allow to be held, not what the broker retains.
    const bound = payload.length > this.limits.recordBytes ? 'record-bytes' : adds ? this.addBound(key) : undefined;
    if (bound) return this.refuse(bound, where, bound === 'record-bytes' ? `${payload.length} bytes` : undefined);
    if (!this.queue.offer({ site, agent, device, payload, adds }))
      return this.refuse('queue', where, 'the queue is full');
    if (adds) this.reserve(key, 1);
  }

  /** The bound a new device of `key` would pass, counting the additions queued before it. */
  private addBound(key: string): RefusalReason | undefined {
    const pending = this.pendingAdds.get(key) ?? 0;
    if ((this.imported.get(key)?.devices.size ?? 0) + pending >= this.limits.devicesPerAgent)
      return 'devices-per-agent';
    if (this.devicesHeld + this.pendingAddsTotal >= this.limits.devices) return 'devices';
    return undefined;
  }

  private reserve(key: string, n: number): void {
    const left = (this.pendingAdds.get(key) ?? 0) + n;
    if (left > 0) this.pendingAdds.set(key, left);
    else this.pendingAdds.delete(key);
    this.pendingAddsTotal += n;
  }

  /**
   * After a (re)subscribe the broker delivers every retained record again, but not the deletions made
   * while this agent was away from it: records not delivered between `beginReadBack` and `endReadBack`
   * are gone and are dropped. Both are queued, so they take effect in order with the messages.
   */
  beginReadBack(): void {
    this.queue.readBack('begin');
  }

  endReadBack(): void {
    this.queue.readBack('end');
  }

  /** Resolves once a read-back's records are delivered and applied: the connection was quiet for `quietMs`. */
  settled(quietMs: number): Promise<void> {
    return this.queue.settled(quietMs);
  }

  stop(): void {
    this.queue.stop();
    this.pendingAdds.clear();
    this.pendingAddsTotal = 0;
  }

  private apply(m: Pending): void {
    if ('readBack' in m) {
      if (m.readBack === 'begin') this.generation += 1;
      else this.dropUnseen();
      return;
    }
    if (m.adds) this.reserve(`${m.agent}@${m.site}`, -1);
    if (m.device === undefined) this.onAgent(m.site, m.agent, m.payload);
    else this.onDevice(m.site, m.agent, m.device, m.payload);
  }

  onAgent(site: string, agent: string, payload: Buffer): void {
    let state: unknown;
    try {
      state = payload.length === 0 ? { state: 'offline' } : JSON.parse(payload.toString('utf8'));
    } catch {
      return this.c.badInput('agent-json', `${site}/${agent}`);
    }
    if (!isObject(state) || (state.state !== 'online' && state.state !== 'offline'))
      return this.c.badInput('agent-state', `${site}/${agent}`);
    const key = `${agent}@${site}`;
    const entry = this.imported.get(key);
    if (state.state === 'offline') {
      // Held, not served: a bridge that reconnects may deliver the records again after the state.
      this.c.directory.forget(key);
      if (entry) entry.online = false;
      else if (payload.length > 0 && this.imported.size < this.limits.agents)
        this.imported.set(key, { devices: new Map(), version: 0, online: false });
      if (entry && payload.length === 0 && entry.devices.size === 0) this.imported.delete(key); // retired
      return;
    }
    if (entry && !entry.online) {
      entry.online = true;
      entry.version = 0;
      if (entry.devices.size > 0)
        this.applyChange(key, site, entry, { added: [...entry.devices.values()].map((h) => h.device) });
    }
  }

  onDevice(site: string, agent: string, id: string, payload: Buffer): void {
    const key = `${agent}@${site}`;
    const entry = this.imported.get(key);
    if (payload.length === 0) {
      const held = entry?.devices.get(id);
      if (!entry || !held) return;
      entry.devices.delete(id);
      this.account(-1, -held.bytes);
      this.applyChange(key, site, entry, { removed: [id] });
      if (entry.devices.size === 0 && entry.online) this.drop(key);
      return;
    }
    const where = `${site}/${agent}/${id}`;
    const held = entry?.devices.get(id);
    // Bounds first, from the topic and the payload's length alone: past a bound nothing is parsed.
    const bytes = payload.length;
    const bound = bytes > this.limits.recordBytes ? 'record-bytes' : this.boundReached(entry, held, bytes);
    if (bound) return this.refuse(bound, where, bound === 'record-bytes' ? `${bytes} bytes` : undefined);
    const device = this.parse(payload, id, where);
    if (!device) return;
    if (held) held.seen = this.generation;
    if (held && sameDevice(held.device, device)) return;
    const target = entry ?? { devices: new Map(), version: 0, online: true };
    this.imported.set(key, target);
    target.devices.set(id, { device, bytes, seen: this.generation });
    this.account(held ? 0 : 1, bytes - (held?.bytes ?? 0));
    this.applyChange(key, site, target, held ? { updated: [device] } : { added: [device] });
  }

  /** The bound a record of `bytes` would pass, when it is not held yet (`held` undefined) or replaces `held`. */
  private boundReached(
    entry: ImportedAgent | undefined,
    held: { bytes: number } | undefined,
    bytes: number,
  ): RefusalReason | undefined {
    if (!held) {
      if (!entry && this.imported.size >= this.limits.agents) return 'agents';
      if (entry && entry.devices.size >= this.limits.devicesPerAgent) return 'devices-per-agent';
      if (this.devicesHeld >= this.limits.devices) return 'devices';
    }
    if (this.bytesHeld - (held?.bytes ?? 0) + bytes > this.limits.bytes) return 'bytes';
    return undefined;
  }

  private dropUnseen(): void {
    for (const [key, entry] of [...this.imported]) {
      const gone = [...entry.devices].filter(([, held]) => held.seen < this.generation).map(([id]) => id);
      if (gone.length === 0) continue;
      const [agent, site] = [key.slice(0, key.lastIndexOf('@')), key.slice(key.lastIndexOf('@') + 1)];
      for (const id of gone) this.onDevice(site, agent, id, Buffer.alloc(0));
    }
  }

  private parse(payload: Buffer, id: string, where: string): Device | undefined {
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      this.c.badInput('device-json', where);
      return undefined;
    }
    if (isObject(value)) {
      delete value.agent;
      delete value.site;
      delete value.origin;
    }
    const result = validateDevice(value);
    if (result.ok && result.device.id === id) return result.device;
    this.c.badInput('device', where, result.ok ? 'id does not match the topic' : result.errors[0].message);
    return undefined;
  }

  private applyChange(key: string, site: string, entry: ImportedAgent, change: Partial<Omit<Delta, 'version'>>): void {
    if (!entry.online) return;
    const directory = this.c.directory;
    directory.ensureOrigin(key, { site, remote: true });
    entry.version += 1;
    const delta: Delta = { version: entry.version, added: [], updated: [], removed: [], ...change };
    directory.applyDeltas(key, 1, [delta]);
  }

  private drop(key: string): void {
    const entry = this.imported.get(key);
    if (entry) {
      let bytes = 0;
      for (const held of entry.devices.values()) bytes += held.bytes;
      this.account(-entry.devices.size, -bytes);
      this.imported.delete(key);
    }
    this.c.directory.forget(key);
  }

  private account(devices: number, bytes: number): void {
    this.devicesHeld += devices;
    this.bytesHeld += bytes;
  }

  private refuse(reason: RefusalReason, where: string, detail?: string): void {
    this.c.refused.inc({ reason });
    this.c.onRefused(reason, where, detail);
  }
}
