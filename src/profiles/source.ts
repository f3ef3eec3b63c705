import { statSync, watch, type FSWatcher } from 'node:fs';
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
  /** Watches the folder the path names now, if that is not the one watched (see watch). */
  private rearm: (() => void) | undefined;

  constructor(
    private readonly dir: string,
    private readonly debounceMs = 100,
    /** How often a path that names no folder is looked at again (see watch). */
    private readonly absentPollMs = 1000,
  ) {
    this.description = dir;
  }

  load(): Promise<ProfileSet> {
    this.rearm?.();
    return loadProfileDir(this.dir);
  }

  /**
   * inotify watches a folder, not its path: a folder replaced as a whole (a deploy that swaps a new one
   * in, a symlink moved to another release) would leave it watching the old one, and later changes
   * would never reload. Each event and each load (SIGHUP) re-arms it on what the path names now.
   * While the path names no folder, nothing can be watched: it is looked at every `absentPollMs`, so that
   * a folder removed and written again (`rm -rf` then `cp -r`, slower than the debounce) is read when it
   * is back, not at the next SIGHUP (attack16: the agent served the removed set until then).
   */
  watch(onChange: () => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    let watched: string | undefined;
    let poll: NodeJS.Timeout | undefined;
    const fire = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.rearm?.();
        onChange();
      }, this.debounceMs);
    };
    this.rearm = () => {
      const identity = folderIdentity(this.dir);
      if (watcher && identity === watched) return;
      watcher?.close();
      watcher = undefined;
      watched = identity;
      clearInterval(poll);
      poll = undefined;
      if (identity === undefined) {
        poll = setInterval(() => folderIdentity(this.dir) !== undefined && fire(), this.absentPollMs);
        poll.unref();
        return;
      }
      try {
        watcher = watch(this.dir, { persistent: false }, fire);
        watcher.on('error', fire); // the folder went away: the reload reports it
      } catch {
        watched = undefined;
      }
    };
    this.rearm();
    return () => {
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
      this.rearm = undefined;
    };
  }
}

/** The device and inode the path leads to (through symlinks), or undefined when there is none. */
function folderIdentity(dir: string): string | undefined {
  try {
    const st = statSync(dir);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
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

  load(): Promise<ProfileSet> {
    return Promise.resolve({ devices: this.devices, errors: [], files: this.devices.length });
  }

  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }
}
