import { worst, type CheckSpec, type Health, type HealthState } from '../profiles/checks.js';
import { canonicalJson } from '../profiles/model.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { jitter, type Random } from '../util/random.js';
import { CheckState } from './check-state.js';
import type { ProbeResult, Probes } from './probes.js';

export interface CheckerComponents {
  clock: Clock;
  random: Random;
  probes: Probes;
  /** A device's replicated health changed (called once per result that changed it). */
  onChange: (deviceId: string) => void;
}

export interface CheckerLimits {
  /** Probes in flight at once; the rest wait their turn. */
  concurrency: number;
  /** Checks this host runs at most; a registration or profile beyond it is refused. */
  maxChecks: number;
}

export const DEFAULT_CHECKER_LIMITS: CheckerLimits = { concurrency: 8, maxChecks: 256 };

interface Running {
  deviceId: string;
  state: CheckState;
  key: string;
  timer?: TimerHandle;
  busy: boolean;
}

export type ReportOutcome = 'ok' | 'no-device' | 'no-ttl-check' | 'ambiguous';

/**
 * Runs the checks of this host's own devices: each on its interval with ±10 % jitter (so that checks
 * declared alike do not fire in step), at most `concurrency` probes at a time, and never two runs of
 * one check at once. Timers come from the injected clock.
 */
export class HealthChecker {
  private readonly devices = new Map<string, Map<string, Running>>();
  private readonly waiting: Running[] = [];
  private active = 0;
  private stopped = false;

  constructor(
    private readonly c: CheckerComponents,
    readonly limits: CheckerLimits = DEFAULT_CHECKER_LIMITS,
  ) {}

  /** Makes the running checks those of `devices` (targets already expanded); unchanged checks keep state. */
  sync(devices: { id: string; checks?: CheckSpec[] }[]): void {
    const wanted = new Map(devices.map((d) => [d.id, d.checks ?? []]));
    for (const [id, running] of this.devices) {
      const specs = wanted.get(id) ?? [];
      for (const [checkId, r] of running) {
        const spec = specs.find((s) => s.id === checkId);
        if (!spec || canonicalJson(spec) !== r.key) this.cancel(running, checkId);
      }
      if (running.size === 0 && specs.length === 0) this.devices.delete(id);
    }
    for (const [id, specs] of wanted) {
      if (specs.length === 0) continue;
      const running = this.devices.get(id) ?? new Map<string, Running>();
      this.devices.set(id, running);
      for (const spec of specs) if (!running.has(spec.id)) running.set(spec.id, this.begin(id, spec));
    }
  }

  /** Counts checks as `sync(devices)` would run them. */
  static count(devices: { checks?: CheckSpec[] }[]): number {
    return devices.reduce((n, d) => n + (d.checks?.length ?? 0), 0);
  }

  health(deviceId: string): Health | undefined {
    const running = this.devices.get(deviceId);
    if (!running || running.size === 0) return undefined;
    const checks = [...running.values()].map((r) => ({
      id: r.state.spec.id,
      ...(r.state.spec.capability ? { capability: r.state.spec.capability } : {}),
      status: r.state.status,
      output: r.state.output,
    }));
    const status = worst(checks.map((c) => c.status));
    const first = checks.find((c) => c.status === status);
    return { status, ...(first?.output ? { output: first.output } : {}), checks };
  }

  /** A registrant's report for a ttl check (`checkId` may be left out when the device has one). */
  report(deviceId: string, checkId: string | undefined, status: HealthState, note: string): ReportOutcome {
    const running = this.devices.get(deviceId);
    if (!running) return 'no-device';
    const ttl = [...running.values()].filter(
      (r) => r.state.spec.type === 'ttl' && (checkId === undefined || r.state.spec.id === checkId),
    );
    if (ttl.length === 0) return 'no-ttl-check';
    if (ttl.length > 1) return 'ambiguous';
    const r = ttl[0];
    this.apply(r, { status, output: note || `reported ${status}` });
    if (r.state.spec.ttlMs !== undefined) this.arm(r, r.state.spec.ttlMs);
    return 'ok';
  }

  counts(): Record<HealthState, number> {
    const out: Record<HealthState, number> = { passing: 0, warning: 0, critical: 0 };
    for (const running of this.devices.values()) for (const r of running.values()) out[r.state.status]++;
    return out;
  }

  get size(): number {
    let n = 0;
    for (const running of this.devices.values()) n += running.size;
    return n;
  }

  stop(): void {
    this.stopped = true;
    for (const running of this.devices.values()) for (const id of [...running.keys()]) this.cancel(running, id);
    this.devices.clear();
    this.waiting.length = 0;
  }

  private begin(deviceId: string, spec: CheckSpec): Running {
    const initial = spec.type === 'ttl' ? 'no report yet' : 'not checked yet';
    const r: Running = {
      deviceId,
      state: new CheckState(spec, initial),
      key: canonicalJson(spec),
      busy: false,
    };
    if (spec.type === 'ttl') {
      if (spec.ttlMs !== undefined) this.arm(r, spec.ttlMs);
    } else {
      // The first run comes soon but spread out, so that a host starting with many checks does not probe at once.
      this.arm(r, this.c.random() * Math.min(spec.intervalMs, 1000));
    }
    return r;
  }

  private arm(r: Running, ms: number): void {
    this.c.clock.clearTimeout(r.timer);
    r.timer = this.c.clock.setTimeout(() => this.due(r), ms);
    r.timer.unref?.();
  }

  private due(r: Running): void {
    if (this.stopped) return;
    const { type, ttlMs } = r.state.spec;
    if (type === 'ttl') {
      if (ttlMs === undefined) return;
      this.apply(r, { status: 'critical', output: `TTL of ${ttlMs} ms expired without a report` });
      this.arm(r, ttlMs);
      return;
    }
    this.arm(r, jitter(this.c.random, r.state.spec.intervalMs, 0.1));
    if (r.busy) return; // still running or queued: one run at a time
    r.busy = true;
    this.waiting.push(r);
    this.drain();
  }

  private drain(): void {
    for (;;) {
      const r = this.active < this.limits.concurrency ? this.waiting.shift() : undefined;
      if (!r) return;
      this.active++;
      void this.probe(r.state.spec)
        .catch((err: unknown) => ({ status: 'critical' as const, output: `check failed: ${String(err)}` }))
        .then((result) => {
          this.active--;
          r.busy = false;
          if (!this.stopped && this.devices.get(r.deviceId)?.get(r.state.spec.id) === r) this.apply(r, result);
          this.drain();
        });
    }
  }

  private probe(spec: CheckSpec): Promise<ProbeResult> {
    if (spec.type === 'http') return this.c.probes.http(spec.url ?? '', spec.timeoutMs, spec.status);
    return this.c.probes.tcp(spec.address ?? '', spec.timeoutMs);
  }

  private apply(r: Running, result: ProbeResult): void {
    if (r.state.record(result.status, result.output)) this.c.onChange(r.deviceId);
  }

  private cancel(running: Map<string, Running>, checkId: string): void {
    const r = running.get(checkId);
    if (!r) return;
    this.c.clock.clearTimeout(r.timer);
    running.delete(checkId);
    const i = this.waiting.indexOf(r);
    if (i >= 0) this.waiting.splice(i, 1);
  }
}
