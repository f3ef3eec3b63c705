import { computeDelta } from '../directory/delta.js';
import type { Directory } from '../directory/directory.js';
import type { Device } from '../profiles/model.js';
import { isObject, validateDevice } from '../profiles/validate.js';

interface ImportedAgent {
  site: string;
  devices: Map<string, Device>;
  version: number;
}

/** Says why an imported message was refused: counted under `reason`, logged once per topic a minute. */
export type BadInput = (reason: string, where: string, detail?: string) => void;

/**
 * Other sites' directories, read from their retained topics: each remote agent becomes a read-only
 * origin `agent@site` in the directory, never announced on the LAN, gone when its agent goes offline.
 */
export class SiteImport {
  /** Remote devices imported from other sites, by origin key `agent@site`. */
  private readonly imported = new Map<string, ImportedAgent>();

  constructor(
    private readonly c: { directory: Directory; badInput: BadInput },
    readonly sites: readonly string[],
  ) {}

  onAgent(site: string, agent: string, payload: Buffer): void {
    let state: unknown;
    try {
      state = payload.length === 0 ? { state: 'offline' } : JSON.parse(payload.toString('utf8'));
    } catch {
      return this.c.badInput('agent-json', `${site}/${agent}`);
    }
    if (!isObject(state) || (state.state !== 'online' && state.state !== 'offline'))
      return this.c.badInput('agent-state', `${site}/${agent}`);
    if (state.state === 'offline') {
      const key = `${agent}@${site}`;
      this.imported.delete(key);
      this.c.directory.forget(key);
    }
  }

  onDevice(site: string, agent: string, device: string, payload: Buffer): void {
    const key = `${agent}@${site}`;
    let entry = this.imported.get(key);
    if (payload.length === 0) {
      if (!entry?.devices.has(device)) return;
      const next = new Map(entry.devices);
      next.delete(device);
      return this.apply(key, site, entry, next);
    }
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.c.badInput('device-json', `${site}/${agent}/${device}`);
    }
    if (isObject(value)) {
      delete value.agent;
      delete value.site;
      delete value.origin;
    }
    const result = validateDevice(value);
    if (!result.ok || result.device.id !== device)
      return this.c.badInput(
        'device',
        `${site}/${agent}/${device}`,
        result.ok ? 'id does not match the topic' : result.errors[0].message,
      );
    entry ??= { site, devices: new Map(), version: 0 };
    const next = new Map(entry.devices);
    next.set(device, result.device);
    this.apply(key, site, entry, next);
  }

  private apply(key: string, site: string, entry: ImportedAgent, next: Map<string, Device>): void {
    const directory = this.c.directory;
    this.imported.set(key, entry);
    directory.ensureOrigin(key, { site, remote: true });
    const delta = computeDelta(entry.devices, [...next.values()], entry.version + 1);
    entry.version = delta.version;
    entry.devices = next;
    directory.applyDeltas(key, 1, [delta]);
    if (next.size === 0) {
      this.imported.delete(key);
      directory.forget(key);
    }
  }
}
