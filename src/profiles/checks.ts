import { DEVICE_ID_PATTERN } from './model.js';

/** How a device (or one of its capabilities) is checked; only the owning host runs it. */
export const CHECK_TYPES = ['http', 'tcp', 'ttl'] as const;
export type CheckType = (typeof CHECK_TYPES)[number];

export const HEALTH_STATES = ['passing', 'warning', 'critical'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** A check as declared in a profile or registration, with durations in milliseconds. */
export interface CheckSpec {
  id: string;
  type: CheckType;
  /** The capability this check speaks for; absent: the device as a whole. */
  capability?: string;
  /** http: the URL to GET ({address} and {host} are expanded). */
  url?: string;
  /** tcp: HOST:PORT to connect to ({address} and {host} are expanded). */
  address?: string;
  /** http: the status that means passing; absent: any 2xx passes and 429 warns (as Consul does). */
  status?: number;
  intervalMs: number;
  timeoutMs: number;
  /** ttl: a check not reported within this long turns critical. */
  ttlMs?: number;
  successBeforePassing: number;
  failuresBeforeCritical: number;
}

/** The replicated part: what every host sees about a device's health. */
export interface CheckHealth {
  id: string;
  capability?: string;
  status: HealthState;
  output?: string;
}

export interface Health {
  /** The worst state of the device's checks. */
  status: HealthState;
  output?: string;
  checks: CheckHealth[];
}

export const CHECK_LIMITS = {
  perDevice: 8,
  /** Output is replicated to every host and rides in datagrams: a line, not a page. */
  outputLength: 200,
  minIntervalMs: 100,
  maxIntervalMs: 24 * 3600_000,
  minTimeoutMs: 50,
  maxTimeoutMs: 60_000,
  maxThreshold: 100,
} as const;

export const CHECK_DEFAULTS = {
  intervalMs: 10_000,
  timeoutMs: 2_000,
  successBeforePassing: 1,
  failuresBeforeCritical: 1,
} as const;

type Fail = (path: (string | number)[], message: string) => void;

const CHECK_KEYS = new Set([
  'id',
  'type',
  'capability',
  'url',
  'address',
  'status',
  'interval',
  'timeout',
  'ttl',
  'success_before_passing',
  'failures_before_critical',
]);

/** `500ms`, `10s`, `2m`, `1h`, or a number of seconds. Undefined when it is none of these. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) return undefined;
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * scale);
}

/** Validates a device's `checks` list; returns the normalized checks when every one is valid. */
export function validateChecks(value: unknown, capabilityIds: Set<string>, fail: Fail): CheckSpec[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    fail(['checks'], 'must be a list of checks');
    return undefined;
  }
  if (value.length > CHECK_LIMITS.perDevice)
    fail(['checks'], `has ${value.length} entries, at most ${CHECK_LIMITS.perDevice} are allowed`);
  const out: CheckSpec[] = [];
  const seen = new Set<string>();
  value.forEach((doc, i) => {
    const check = validateCheck(doc, ['checks', i], capabilityIds, fail);
    if (!check) return;
    if (seen.has(check.id)) fail(['checks', i, 'id'], `duplicate check id '${check.id}'`);
    seen.add(check.id);
    out.push(check);
  });
  return out;
}

function validateCheck(
  doc: unknown,
  at: (string | number)[],
  capabilityIds: Set<string>,
  fail: Fail,
): CheckSpec | undefined {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    fail(at, "a check must be a mapping with at least 'id' and 'type'");
    return undefined;
  }
  const c = doc as Record<string, unknown>;
  const before = { n: 0 };
  const f: Fail = (p, m) => {
    before.n++;
    fail(p, m);
  };
  for (const key of Object.keys(c))
    if (!CHECK_KEYS.has(key)) f([...at, key], `unknown field '${key}' (allowed: ${[...CHECK_KEYS].join(', ')})`);
  if (typeof c.id !== 'string' || !DEVICE_ID_PATTERN.test(c.id))
    f([...at, 'id'], "is required: lowercase letters, digits, '.', '_' or '-'");
  if (!(CHECK_TYPES as readonly unknown[]).includes(c.type))
    f([...at, 'type'], `must be one of ${CHECK_TYPES.join(', ')}; got ${JSON.stringify(c.type)}`);
  if (c.capability !== undefined && (typeof c.capability !== 'string' || !capabilityIds.has(c.capability)))
    f([...at, 'capability'], `names no capability of this device: ${JSON.stringify(c.capability)}`);
  checkTarget(c, at, f);
  const intervalMs = duration(c, 'interval', at, f, CHECK_LIMITS.minIntervalMs, CHECK_LIMITS.maxIntervalMs);
  const timeoutMs = duration(c, 'timeout', at, f, CHECK_LIMITS.minTimeoutMs, CHECK_LIMITS.maxTimeoutMs);
  const ttlMs = duration(c, 'ttl', at, f, CHECK_LIMITS.minIntervalMs, CHECK_LIMITS.maxIntervalMs);
  if (c.ttl !== undefined && c.type !== 'ttl') f([...at, 'ttl'], "only a check of type 'ttl' has a ttl");
  const success = threshold(c, 'success_before_passing', at, f);
  const failures = threshold(c, 'failures_before_critical', at, f);
  if (before.n > 0) return undefined;
  const spec: CheckSpec = {
    id: c.id as string,
    type: c.type as CheckType,
    intervalMs: intervalMs ?? CHECK_DEFAULTS.intervalMs,
    timeoutMs: timeoutMs ?? CHECK_DEFAULTS.timeoutMs,
    successBeforePassing: success ?? CHECK_DEFAULTS.successBeforePassing,
    failuresBeforeCritical: failures ?? CHECK_DEFAULTS.failuresBeforeCritical,
  };
  if (typeof c.capability === 'string') spec.capability = c.capability;
  if (typeof c.url === 'string') spec.url = c.url;
  if (typeof c.address === 'string') spec.address = c.address;
  if (typeof c.status === 'number') spec.status = c.status;
  if (ttlMs !== undefined) spec.ttlMs = ttlMs;
  return spec;
}

function checkTarget(c: Record<string, unknown>, at: (string | number)[], f: Fail): void {
  if (c.type === 'http') {
    if (typeof c.url !== 'string' || !/^https?:\/\/\S{1,500}$/.test(c.url))
      f([...at, 'url'], 'an http check needs a url starting with http:// or https://');
  } else if (c.url !== undefined) f([...at, 'url'], "only a check of type 'http' has a url");
  if (c.type === 'tcp') {
    if (typeof c.address !== 'string' || !/^\S{1,255}:\d{1,5}$/.test(c.address))
      f([...at, 'address'], 'a tcp check needs an address HOST:PORT, e.g. {address}:8080');
  } else if (c.address !== undefined) f([...at, 'address'], "only a check of type 'tcp' has an address");
  if (c.status !== undefined) {
    if (c.type !== 'http') f([...at, 'status'], "only a check of type 'http' has a status");
    else if (!Number.isInteger(c.status) || (c.status as number) < 100 || (c.status as number) > 599)
      f([...at, 'status'], `must be an HTTP status from 100 to 599; got ${JSON.stringify(c.status)}`);
  }
}

function duration(
  c: Record<string, unknown>,
  key: string,
  at: (string | number)[],
  f: Fail,
  min: number,
  max: number,
): number | undefined {
  if (c[key] === undefined) return undefined;
  const ms = parseDuration(c[key]);
  if (ms === undefined || ms < min || ms > max) {
    f([...at, key], `must be a duration from ${min} ms to ${max / 1000} s such as '10s' or '500ms'`);
    return undefined;
  }
  return ms;
}

function threshold(c: Record<string, unknown>, key: string, at: (string | number)[], f: Fail): number | undefined {
  const v = c[key];
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > CHECK_LIMITS.maxThreshold) {
    f([...at, key], `must be a whole number from 1 to ${CHECK_LIMITS.maxThreshold}; got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v as number;
}

/** Validates a replicated health record (from a peer); profiles and registrations may not carry one. */
export function validateHealth(value: unknown, fail: Fail): Health | undefined {
  const bad = (path: (string | number)[], m: string) => {
    fail(['health', ...path], m);
    return undefined;
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad([], 'must be a mapping');
  const h = value as Record<string, unknown>;
  if (!(HEALTH_STATES as readonly unknown[]).includes(h.status))
    return bad(['status'], `must be one of ${HEALTH_STATES.join(', ')}`);
  if (!validOutput(h.output)) return bad(['output'], `must be a string of at most ${CHECK_LIMITS.outputLength}`);
  if (!Array.isArray(h.checks) || h.checks.length > CHECK_LIMITS.perDevice)
    return bad(['checks'], `must be a list of at most ${CHECK_LIMITS.perDevice}`);
  const checks: CheckHealth[] = [];
  for (const [i, raw] of (h.checks as unknown[]).entries()) {
    const c = (raw ?? {}) as Record<string, unknown>;
    const ok =
      typeof c.id === 'string' &&
      DEVICE_ID_PATTERN.test(c.id) &&
      (c.capability === undefined || (typeof c.capability === 'string' && DEVICE_ID_PATTERN.test(c.capability))) &&
      (HEALTH_STATES as readonly unknown[]).includes(c.status) &&
      validOutput(c.output) &&
      Object.keys(c).every((k) => ['id', 'capability', 'status', 'output'].includes(k));
    if (!ok) return bad(['checks', i], 'is not a valid check state');
    checks.push(c as unknown as CheckHealth);
  }
  return { status: h.status as HealthState, ...(h.output !== undefined ? { output: h.output as string } : {}), checks };
}

function validOutput(v: unknown): boolean {
  return v === undefined || (typeof v === 'string' && v.length <= CHECK_LIMITS.outputLength);
}

/** Output as replicated: one bounded line. */
export function trimOutput(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= CHECK_LIMITS.outputLength ? line : line.slice(0, CHECK_LIMITS.outputLength - 1) + '…';
}

export function worst(states: HealthState[]): HealthState {
  if (states.includes('critical')) return 'critical';
  if (states.includes('warning')) return 'warning';
  return 'passing';
}
