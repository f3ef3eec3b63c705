import type { Delta } from '../directory/delta.js';
import type { LocalDeviceSet } from '../directory/local-device-set.js';
import { HealthChecker, type CheckerLimits, type ReportOutcome } from '../health/checker.js';
import type { Probes } from '../health/probes.js';
import type { Health, HealthState } from '../profiles/checks.js';
import type { LoadedDevice, ProfileError } from '../profiles/load.js';
import type { Device } from '../profiles/model.js';
import { expandEndpoint } from '../profiles/validate.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import { Leases } from './leases.js';
import { checkHostLimits, RegistrationError } from './registration-error.js';
import { SaveQueue, type RegistrationStore } from './store.js';

/** One device asked for at run time (over the local API). */
export interface RegistrationInput {
  device: Device;
  /** The document as sent: what a persistent registration stores. */
  document: unknown;
  ttlMs?: number;
  persist: boolean;
}

interface Registration extends RegistrationInput {
  registeredAt: number;
}

/** What this host offers and where each device came from: GET /v1/local/devices. */
export interface LocalDeviceInfo {
  id: string;
  source: 'file' | 'registration';
  file?: string;
  persist?: boolean;
  ttlMs?: number;
  expiresAt?: string;
  health?: Health;
  device: Device;
}

export interface HostDevicesComponents {
  local: LocalDeviceSet;
  clock: Clock;
  random: Random;
  probes: Probes;
  logger: Logger;
  store?: RegistrationStore;
  checkerLimits?: CheckerLimits;
  onLapse?: (count: number) => void;
}

/**
 * This host's devices from both sources, profile files and registrations, in one id space. Every
 * operation (a reload, a registration request, a withdrawal, a lapse, a health change) makes at most
 * one new version of the local device set. Checks are run here; the advertised record carries their
 * outcome (`health`) and not their declaration.
 */
export class HostDevices {
  private files = new Map<string, LoadedDevice>();
  private readonly regs = new Map<string, Registration>();
  private readonly checker: HealthChecker;
  private readonly leases: Leases;
  private healthPending = false;
  /** How many saves of the persistent registrations were asked for: whether a write asked for one. */
  savesAsked = 0;
  private readonly saves: SaveQueue | undefined;

  constructor(
    private readonly c: HostDevicesComponents,
    private readonly init: { address: string; host: string },
  ) {
    this.checker = new HealthChecker(
      { clock: c.clock, random: c.random, probes: c.probes, onChange: () => this.healthChanged() },
      c.checkerLimits,
    );
    this.leases = new Leases(c.clock, (ids) => this.lapse(ids));
    this.saves = c.store && new SaveQueue(c.store, c.logger);
  }

  /** Takes the persistent registrations of the last run; the first version (startFiles) carries them. */
  async restore(): Promise<void> {
    const restored = await this.c.store?.load();
    for (const error of restored?.errors ?? []) this.c.logger.error({ error }, 'persistent registration not restored');
    for (const r of restored?.registrations ?? []) {
      this.regs.set(r.device.id, { ...r, persist: true, registeredAt: this.c.clock.now() });
      this.leases.set(r.device.id, r.ttlMs);
    }
  }

  /**
   * The first version: the profile files and the restored registrations. A file is the operator's
   * configuration, so a restored registration with a file's id is dropped (and said so). Returns why the
   * files cannot be taken at all (more than the host's bounds); nothing is published then.
   */
  startFiles(files: LoadedDevice[]): ProfileError[] {
    for (const f of files) {
      if (!this.regs.has(f.device.id)) continue;
      this.c.logger.warn({ id: f.device.id, file: f.file }, 'persistent registration dropped: a profile has its id');
      this.regs.delete(f.device.id);
      this.leases.delete(f.device.id);
    }
    const refused = this.filesRefused(files);
    if (refused.length === 0) this.setFiles(files);
    return refused;
  }

  /** Why a set of profile files cannot be taken as it is: a registered id, or more than the host's bounds. */
  filesRefused(files: LoadedDevice[]): ProfileError[] {
    const errors: ProfileError[] = files
      .filter((f) => this.regs.has(f.device.id))
      .map((f) => ({
        file: f.file,
        field: 'id',
        message: `device id '${f.device.id}' is registered over the API on this host; withdraw it first`,
      }));
    try {
      this.checkLimits(
        files.map((f) => f.device),
        [...this.regs.values()].map((r) => r.device),
      );
    } catch (err) {
      if (!(err instanceof RegistrationError)) throw err;
      errors.push({ file: files[0]?.file ?? 'profiles', message: err.message });
    }
    return errors;
  }

  /** A reload of the profile files (checked with filesRefused first); registrations stay as they are. */
  setFiles(files: LoadedDevice[]): Delta | undefined {
    this.files = new Map(files.map((f) => [f.device.id, f]));
    return this.publish();
  }

  /** Adds or replaces registrations, all in one version; nothing changes when any is refused. */
  register(items: RegistrationInput[]): Delta | undefined {
    const ids = new Set<string>();
    for (const item of items) {
      const id = item.device.id;
      if (ids.has(id)) throw new RegistrationError('duplicate-id', `device '${id}' appears twice in the request`);
      ids.add(id);
      const file = this.files.get(id);
      if (file)
        throw new RegistrationError('file-clash', `device id '${id}' is already offered by the profile ${file.file}`);
      if (item.persist && !this.c.store)
        throw new RegistrationError('no-state-dir', `persist: true needs an agent with a state folder (--state-dir)`);
    }
    const touchesPersisted = items.some((i) => i.persist || this.regs.get(i.device.id)?.persist);
    const after = new Map(this.regs);
    for (const item of items) after.set(item.device.id, { ...item, registeredAt: this.c.clock.now() });
    this.checkLimits(
      [...this.files.values()].map((f) => f.device),
      [...after.values()].map((r) => r.device),
    );
    for (const item of items) {
      this.regs.set(item.device.id, { ...item, registeredAt: this.c.clock.now() });
      this.leases.set(item.device.id, item.ttlMs);
    }
    this.persistIf(touchesPersisted);
    return this.publish();
  }

  /** Withdraws registrations, all in one version. */
  withdraw(ids: string[]): Delta | undefined {
    for (const id of ids) this.registration(id);
    const persisted = ids.some((id) => this.regs.get(id)?.persist);
    for (const id of ids) {
      this.regs.delete(id);
      this.leases.delete(id);
    }
    this.persistIf(persisted);
    return this.publish();
  }

  /** Pushes a TTL registration's deadline out by its TTL; returns the new expiry (wall clock). */
  renew(id: string): number {
    const r = this.registration(id);
    if (!r.ttlMs) throw new RegistrationError('no-ttl', `registration '${id}' has no TTL; there is nothing to renew`);
    this.leases.set(id, r.ttlMs);
    return this.c.clock.now() + r.ttlMs;
  }

  /** A registrant's pass/warn/fail for a ttl check of a local device (registered or from a file). */
  report(id: string, checkId: string | undefined, status: HealthState, note: string): Delta | undefined {
    if (!this.files.has(id) && !this.regs.has(id))
      throw new RegistrationError('not-registered', `this host offers no device '${id}'`);
    const outcome: ReportOutcome = this.checker.report(id, checkId, status, note);
    if (outcome === 'no-ttl-check' || outcome === 'no-device')
      throw new RegistrationError(
        'no-ttl-check',
        `device '${id}' has no ttl check${checkId ? ` '${checkId}'` : ''} to report to`,
      );
    if (outcome === 'ambiguous')
      throw new RegistrationError('ambiguous-check', `device '${id}' has several ttl checks: name one with 'check'`);
    return this.publish();
  }

  list(): LocalDeviceInfo[] {
    const out: LocalDeviceInfo[] = [];
    for (const f of this.files.values())
      out.push({ id: f.device.id, source: 'file', file: f.file, ...this.healthOf(f.device.id), device: f.device });
    for (const r of this.regs.values()) {
      const expiresAt = this.leases.expiresAt(r.device.id);
      out.push({
        id: r.device.id,
        source: 'registration',
        persist: r.persist,
        ...(r.ttlMs ? { ttlMs: r.ttlMs } : {}),
        ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
        ...this.healthOf(r.device.id),
        device: r.device,
      });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  counts(): { files: number; registrations: number; checks: Record<HealthState, number> } {
    return { files: this.files.size, registrations: this.regs.size, checks: this.checker.counts() };
  }

  /** Resolves when every persistent change made so far is on disk. */
  persisted(): Promise<void> {
    return this.saves?.settled() ?? Promise.resolve();
  }

  stop(): void {
    this.leases.stop();
    this.checker.stop();
  }

  private registration(id: string): Registration {
    const r = this.regs.get(id);
    if (r) return r;
    const file = this.files.get(id);
    if (file)
      throw new RegistrationError('from-file', `device '${id}' comes from the profile ${file.file}; edit or remove it`);
    throw new RegistrationError('not-registered', `no device '${id}' is registered on this host`);
  }

  private healthOf(id: string): { health?: Health } {
    const health = this.checker.health(id);
    return health ? { health } : {};
  }

  private checkLimits(files: Device[], regs: Device[]): void {
    checkHostLimits([...files, ...regs], this.checker.limits.maxChecks);
  }

  /** One version from the current sources; checks follow the devices first, so that health is in it. */
  private publish(): Delta | undefined {
    const all = [...[...this.files.values()].map((f) => f.device), ...[...this.regs.values()].map((r) => r.device)];
    this.checker.sync(all.map((d) => ({ id: d.id, checks: d.checks?.map((c) => this.expandCheck(c)) })));
    return this.c.local.replaceAll(all.map((d) => this.advertised(d)));
  }

  private advertised(device: Device): Device {
    const rest = { ...device };
    delete rest.checks; // local configuration, not advertised
    delete rest.health;
    const health = this.checker.health(device.id);
    return health ? { ...rest, health } : rest;
  }

  private expandCheck<T extends { url?: string; address?: string }>(check: T): T {
    const x = (s: string) => expandEndpoint(s, this.init.address, this.init.host);
    return {
      ...check,
      ...(check.url ? { url: x(check.url) } : {}),
      ...(check.address ? { address: x(check.address) } : {}),
    };
  }

  /** Health changes that land together (one probe round) make one version. */
  private healthChanged(): void {
    if (this.healthPending) return;
    this.healthPending = true;
    queueMicrotask(() => {
      this.healthPending = false;
      this.publish();
    });
  }

  /** Registrations whose TTL passed are withdrawn together, in one version. */
  private lapse(ids: string[]): void {
    const due = ids.filter((id) => this.regs.has(id));
    if (due.length === 0) return;
    this.c.logger.info({ ids: due }, 'registrations lapsed (TTL not renewed)');
    this.c.onLapse?.(due.length);
    this.withdraw(due);
  }

  private persistIf(changed: boolean): void {
    if (!changed || !this.saves) return;
    this.savesAsked++;
    this.saves.save(
      [...this.regs.values()]
        .filter((r) => r.persist)
        .map((r) => ({ document: r.document, ...(r.ttlMs ? { ttlMs: r.ttlMs } : {}) })),
    );
  }
}
