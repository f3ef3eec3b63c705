import type { EventJournal } from '../directory/event-journal.js';
import type { LocalDeviceSet } from '../directory/local-device-set.js';
import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { Delta } from '../directory/delta.js';
import { formatProfileError, type LoadedDevice, type ProfileError, type ProfileSet } from '../profiles/load.js';
import type { ProfileSource } from '../profiles/source.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** Thrown at start when the profiles folder itself cannot be read: the configuration is wrong (exit 78). */
export class ProfileLoadError extends Error {
  constructor(readonly errors: ProfileError[]) {
    super(`invalid device profiles:\n${errors.map(formatProfileError).join('\n')}`);
    this.name = 'ProfileLoadError';
  }
}

interface LastLoad {
  when: 'start' | 'reload';
  at: string;
  errors: ProfileError[];
}

/** This host's device set as the profiles see it (HostDevices): files share it with registrations. */
export interface HostFiles {
  /** The first version; returns why the files cannot be taken at all. */
  startFiles(files: LoadedDevice[]): ProfileError[];
  /** Why a reloaded set cannot be taken (an id registered over the API, the host's bounds). */
  filesRefused(files: LoadedDevice[]): ProfileError[];
  setFiles(files: LoadedDevice[]): Delta | undefined;
}

/** How many errors /readyz spells out; the rest are in the log and the event. */
const ERRORS_IN_DETAIL = 3;

/**
 * This agent's own profiles: loaded at start, reloaded on a change or SIGHUP, and what was refused
 * reported everywhere an operator looks (log, /readyz, the herald_profiles_refused gauge, a
 * `profiles-refused` event). At start the valid profiles are served and the invalid ones refused: one
 * typo must not leave a rebooted host announcing none of its devices. At a reload a set with errors is
 * refused as a whole and the last good set stays: applying the valid half of an edit would advertise
 * devices nobody meant to publish.
 */
export class ProfileKeeper {
  private last: LastLoad | undefined;

  constructor(
    private readonly c: {
      source: ProfileSource;
      local: LocalDeviceSet;
      /** Where the files go: this host's device set, which registrations share (one id space). */
      devices: HostFiles;
      metrics: HeraldMetrics;
      journal: EventJournal;
      logger: Logger;
      clock: Clock;
      agent: string;
    },
  ) {
    c.metrics.registry.gauge(
      'herald_profiles_refused',
      'Profile files of this agent refused at the last load (start or reload).',
      () => new Set(this.last?.errors.map((e) => e.file)).size,
    );
  }

  async start(): Promise<void> {
    const set = await this.c.source.load();
    if (set.unreadable) {
      this.c.metrics.profileErrors.inc({}, set.errors.length);
      throw new ProfileLoadError(set.errors);
    }
    const refused = this.c.devices.startFiles(set.devices);
    if (refused.length > 0) {
      this.c.metrics.profileErrors.inc({}, refused.length);
      throw new ProfileLoadError(refused);
    }
    this.c.logger.info(
      { devices: set.devices.length, from: this.c.source.description, version: this.c.local.currentVersion },
      'profiles loaded',
    );
    this.record('start', set, 'profile refused; serving the valid profiles');
  }

  async reload(reason: string): Promise<void> {
    const loaded = await this.c.source.load();
    const set = { ...loaded, errors: [...loaded.errors, ...this.c.devices.filesRefused(loaded.devices)] };
    if (set.errors.length > 0) {
      this.c.metrics.profileReloads.inc({ result: 'refused' });
      this.record('reload', set, 'profile error, keeping the last good set', reason);
      return;
    }
    const delta = this.c.devices.setFiles(set.devices);
    this.record('reload', set, '', reason);
    this.c.metrics.profileReloads.inc({ result: delta ? 'changed' : 'unchanged' });
    if (delta) {
      const { version, added, updated, removed } = delta;
      const ids = { added: added.map((d) => d.id), updated: updated.map((d) => d.id), removed };
      this.c.logger.info({ reason, version, ...ids }, 'device set changed');
    }
  }

  /** The /readyz line: ready once loaded, with what was refused spelled out. */
  check(): { ok: boolean; detail: string } {
    const devices = `${this.c.local.devices().length} devices, version ${this.c.local.currentVersion}`;
    if (!this.last) return { ok: false, detail: 'not loaded' };
    const { errors, when } = this.last;
    if (errors.length === 0) return { ok: true, detail: devices };
    const shown = errors.slice(0, ERRORS_IN_DETAIL).map(formatProfileError).join('; ');
    const more = errors.length > ERRORS_IN_DETAIL ? `; and ${errors.length - ERRORS_IN_DETAIL} more` : '';
    const what =
      when === 'start'
        ? `${new Set(errors.map((e) => e.file)).size} profile(s) refused at start; serving ${devices}`
        : `last reload refused (${errors.length} errors); serving the last good set, ${devices}`;
    return { ok: true, detail: `${what}: ${shown}${more}` };
  }

  private record(when: LastLoad['when'], set: ProfileSet, logMessage: string, reason?: string): void {
    this.last = { when, at: new Date(this.c.clock.now()).toISOString(), errors: set.errors };
    if (set.errors.length === 0) return;
    this.c.metrics.profileErrors.inc({}, set.errors.length);
    for (const e of set.errors)
      this.c.logger.error(
        { file: e.file, line: e.line, field: e.field, reason },
        `${logMessage}: ${formatProfileError(e)}`,
      );
    this.c.journal.record({
      type: 'profiles-refused',
      agent: this.c.agent,
      when,
      errors: set.errors.map(({ file, line, field, message }) => ({ file, line, field, message })),
      serving: this.c.local.devices().length,
    });
  }
}
