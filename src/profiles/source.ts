import { watch, type FSWatcher } from 'node:fs';
import { loadProfileDir, type LoadedDevice, type ProfileSet } from './load.js';
import type { Device } from './model.js';

/** Where an agent's own devices come from: a folder on a real host, memory in tests and benchmarks. */
export interface ProfileSource {
  readonly description: string;
  load(): Promise<ProfileSet>;
  /** Calls back (debounced) when the set may have changed. Returns the way to stop watching. */
  watch(onChange: () => void): () => void;
}

/**
 * The device-profiles folder, watched with inotify (fs.watch). Editors save in bursts (write a temp
 * file, rename, chmod), so events are debounced into one reload.
 */
export class FolderProfileSource implements ProfileSource {
  readonly description: string;

  constructor(
    private readonly dir: string,
    private readonly debounceMs = 100,
  ) {
    this.description = dir;
  }

  load(): Promise<ProfileSet> {
    return loadProfileDir(this.dir);
  }

  watch(onChange: () => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    const fire = () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, this.debounceMs);
    };
    try {
      watcher = watch(this.dir, { persistent: false }, fire);
      watcher.on('error', fire); // the folder went away: the reload reports it
    } catch {
      // No folder to watch (yet): SIGHUP still reloads.
    }
    return () => {
      clearTimeout(timer);
      watcher?.close();
    };
  }
}

/** Devices held in memory; `set` replaces them and notifies like a file change would. */
export class MemoryProfileSource implements ProfileSource {
  readonly description = 'memory';
  private devices: LoadedDevice[];
  private readonly listeners = new Set<() => void>();

  constructor(devices: Device[] = []) {
    this.devices = devices.map((device) => ({ device, file: `memory:${device.id}` }));
  }

  set(devices: Device[]): void {
    this.devices = devices.map((device) => ({ device, file: `memory:${device.id}` }));
    for (const l of this.listeners) l();
  }

  async load(): Promise<ProfileSet> {
    return { devices: this.devices, errors: [], files: this.devices.length };
  }

  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }
}
