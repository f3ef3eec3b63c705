import {
  CAPABILITY_KINDS,
  DEVICE_ID_PATTERN,
  GLOBAL_NAME_PATTERN,
  PROFILE_LIMITS as L,
  TYPE_PATTERN,
  type Capability,
  type Device,
} from './model.js';
import { validateChecks, validateHealth } from './checks.js';

export type FieldPath = (string | number)[];

export interface FieldError {
  path: FieldPath;
  message: string;
}

export type Validation = { ok: true; device: Device } | { ok: false; errors: FieldError[] };

const DEVICE_KEYS = new Set([
  'id',
  'name',
  'model',
  'manufacturer',
  'location',
  'tags',
  'names',
  'capabilities',
  'checks',
  'health',
]);
const CAPABILITY_KEYS = new Set(['id', 'kind', 'type', 'unit', 'readOnly', 'description', 'endpoint']);

/**
 * Validates one parsed profile document and returns every error at once, so that a user fixes a file in
 * one pass. The same function checks devices received from peers: it is the single gate for device data.
 */
export function validateDevice(doc: unknown, opts: { from?: 'wire' | 'profile' } = {}): Validation {
  const errors: FieldError[] = [];
  const fail = (path: FieldPath, message: string) => errors.push({ path, message });

  if (!isObject(doc)) {
    fail([], `a device profile must be a mapping (object), got ${describe(doc)}`);
    return { ok: false, errors };
  }
  for (const key of Object.keys(doc)) {
    if (!DEVICE_KEYS.has(key)) fail([key], `unknown field '${key}' (allowed: ${[...DEVICE_KEYS].join(', ')})`);
  }
  const id = requireString(doc, 'id', [], fail, L.idLength);
  if (id !== undefined && !DEVICE_ID_PATTERN.test(id)) {
    fail(
      ['id'],
      `'${id}' is not a valid id: use lowercase letters, digits, '.', '_' or '-', ` +
        'starting with a letter or digit, at most 63 characters',
    );
  }
  requireString(doc, 'name', [], fail, L.textLength);
  for (const key of ['model', 'manufacturer', 'location'] as const) optionalString(doc, key, [], fail, L.textLength);
  stringList(doc, 'tags', [], fail, L.tags, L.tagLength);
  const names = stringList(doc, 'names', [], fail, L.names, L.nameLength);
  names?.forEach((name, i) => {
    if (typeof name === 'string' && !GLOBAL_NAME_PATTERN.test(name)) {
      fail(
        ['names', i],
        `'${name}' is not a valid global name: slash-separated segments of lowercase letters, digits, '.', '_' or '-'`,
      );
    }
  });

  const capIds = validateCapabilities(doc.capabilities, fail);
  const checks = validateChecks(doc.checks, capIds, fail);
  // Health is computed by the owning agent: a profile or registration reports it through checks instead.
  if (doc.health !== undefined && opts.from === 'profile')
    fail(['health'], 'is set by the agent from the checks; declare checks instead');
  const health = doc.health === undefined || opts.from === 'profile' ? undefined : validateHealth(doc.health, fail);

  if (errors.length > 0) return { ok: false, errors };
  const device = normalizeDevice(doc);
  if (checks && checks.length > 0) device.checks = checks;
  if (health) device.health = health;
  return { ok: true, device };
}

/** The capability list: each capability valid, ids unique. Returns the ids, which checks may name. */
function validateCapabilities(caps: unknown, fail: (path: FieldPath, message: string) => void): Set<string> {
  const capIds = new Set<string>();
  if (caps === undefined) fail(['capabilities'], 'is required (a list of capabilities; it may be empty)');
  else if (!Array.isArray(caps)) fail(['capabilities'], `must be a list, got ${describe(caps)}`);
  else {
    if (caps.length > L.capabilities)
      fail(['capabilities'], `has ${caps.length} entries, at most ${L.capabilities} are allowed`);
    const seen = new Map<string, number>();
    caps.forEach((cap, i) => {
      const capId = validateCapability(cap, ['capabilities', i], fail);
      if (capId === undefined) return;
      const first = seen.get(capId);
      if (first !== undefined)
        fail(['capabilities', i, 'id'], `duplicate capability id '${capId}' (also capabilities[${first}])`);
      else seen.set(capId, i);
      capIds.add(capId);
    });
  }
  return capIds;
}

function validateCapability(cap: unknown, at: FieldPath, fail: (p: FieldPath, m: string) => void): string | undefined {
  if (!isObject(cap)) {
    fail(at, `a capability must be a mapping with at least 'id' and 'kind', got ${describe(cap)}`);
    return undefined;
  }
  for (const key of Object.keys(cap)) {
    if (!CAPABILITY_KEYS.has(key))
      fail([...at, key], `unknown field '${key}' (allowed: ${[...CAPABILITY_KEYS].join(', ')})`);
  }
  const id = requireString(cap, 'id', at, fail, L.idLength);
  if (id !== undefined && !DEVICE_ID_PATTERN.test(id)) {
    fail([...at, 'id'], `'${id}' is not a valid capability id: lowercase letters, digits, '.', '_' or '-'`);
  }
  const kind = requireString(cap, 'kind', at, fail, 16);
  if (kind !== undefined && !(CAPABILITY_KINDS as readonly string[]).includes(kind)) {
    fail([...at, 'kind'], `must be one of ${CAPABILITY_KINDS.join(', ')}; got '${kind}'`);
  }
  const type = optionalString(cap, 'type', at, fail, L.typeLength);
  if (type !== undefined && !TYPE_PATTERN.test(type)) {
    fail(
      [...at, 'type'],
      `'${type}' is not a valid type: lowercase letters, digits, '.', '_' or '-' (e.g. temperature)`,
    );
  }
  optionalString(cap, 'unit', at, fail, L.unitLength);
  optionalString(cap, 'description', at, fail, L.descriptionLength);
  if (cap.readOnly !== undefined && typeof cap.readOnly !== 'boolean') {
    fail([...at, 'readOnly'], `must be true or false, got ${describe(cap.readOnly)}`);
  }
  const endpoint = optionalString(cap, 'endpoint', at, fail, L.endpointLength);
  if (endpoint !== undefined) {
    const problem = endpointProblem(endpoint);
    if (problem) fail([...at, 'endpoint'], problem);
  }
  return id;
}

/** A placeholder other than {address} and {host}. */
const UNKNOWN_PLACEHOLDER = /\{(?!address\}|host\})[^}]*\}/;

/**
 * An endpoint is a URL once {address} and {host} are expanded; check it with stand-in values. Asked of every
 * endpoint of every device a peer announces: `URL.canParse` is the same parser without the URL object and its
 * fields, which `new URL` built for each (~4 % of a receiver's handling of a change, cpu18).
 */
export function endpointProblem(endpoint: string): string | undefined {
  const unknown = endpoint.includes('{') ? UNKNOWN_PLACEHOLDER.exec(endpoint) : null;
  if (unknown) return `unknown placeholder '${unknown[0]}' in endpoint (only {address} and {host} are expanded)`;
  if (URL.canParse(expandEndpoint(endpoint, '192.0.2.1', 'host.example'))) return undefined;
  return `'${endpoint}' is not a URL (expected something like http://{address}:8080/path)`;
}

export function expandEndpoint(endpoint: string, address: string, host: string): string {
  if (!endpoint.includes('{')) return endpoint;
  return endpoint.replaceAll('{address}', address).replaceAll('{host}', host);
}

function normalizeDevice(doc: Record<string, unknown>): Device {
  const device: Device = {
    id: doc.id as string,
    name: doc.name as string,
    tags: (doc.tags as string[] | undefined) ?? [],
    names: (doc.names as string[] | undefined) ?? [],
    capabilities: (doc.capabilities as Record<string, unknown>[]).map(normalizeCapability),
  };
  for (const key of ['model', 'manufacturer', 'location'] as const) {
    if (typeof doc[key] === 'string') device[key] = doc[key];
  }
  return device;
}

function normalizeCapability(cap: Record<string, unknown>): Capability {
  const out: Capability = { id: cap.id as string, kind: cap.kind as Capability['kind'] };
  for (const key of ['type', 'unit', 'description', 'endpoint'] as const) {
    if (typeof cap[key] === 'string') out[key] = cap[key];
  }
  if (typeof cap.readOnly === 'boolean') out.readOnly = cap.readOnly;
  return out;
}

function requireString(
  obj: Record<string, unknown>,
  key: string,
  at: FieldPath,
  fail: (p: FieldPath, m: string) => void,
  max: number,
): string | undefined {
  if (obj[key] === undefined || obj[key] === null) {
    fail([...at, key], 'is required');
    return undefined;
  }
  return optionalString(obj, key, at, fail, max);
}

function optionalString(
  obj: Record<string, unknown>,
  key: string,
  at: FieldPath,
  fail: (p: FieldPath, m: string) => void,
  max: number,
): string | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    fail([...at, key], `must be a string, got ${describe(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    fail([...at, key], 'must not be empty');
    return undefined;
  }
  if (value.length > max) {
    fail([...at, key], `is ${value.length} characters long, at most ${max} are allowed`);
    return undefined;
  }
  const control = controlCharacter(value);
  if (control) {
    fail([...at, key], control);
    return undefined;
  }
  return value;
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/**
 * Text that peers announce is printed by herald ls and watch: an escape sequence in it would drive the
 * operator's terminal (clear it, retitle it, write the clipboard). Tab and newline stay, for the
 * multi-line descriptions YAML block scalars make.
 */
function controlCharacter(value: string): string | undefined {
  const m = CONTROL_CHARACTER.exec(value);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0).toString(16).padStart(4, '0');
  return `contains the control character U+${code.toUpperCase()} at position ${m.index}`;
}

function stringList(
  obj: Record<string, unknown>,
  key: string,
  at: FieldPath,
  fail: (p: FieldPath, m: string) => void,
  maxItems: number,
  maxLength: number,
): unknown[] | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    fail([...at, key], `must be a list of strings, got ${describe(value)}`);
    return undefined;
  }
  if (value.length > maxItems) fail([...at, key], `has ${value.length} entries, at most ${maxItems} are allowed`);
  const seen = new Set<string>();
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item.length === 0)
      fail([...at, key, i], `must be a non-empty string, got ${describe(item)}`);
    else if (item.length > maxLength)
      fail([...at, key, i], `is ${item.length} characters long, at most ${maxLength} are allowed`);
    else if (controlCharacter(item) !== undefined) fail([...at, key, i], controlCharacter(item) ?? '');
    else if (seen.has(item)) fail([...at, key, i], `duplicate entry '${item}'`);
    else seen.add(item);
  });
  return value as unknown[];
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string '${value.length > 40 ? value.slice(0, 40) + '…' : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `${typeof value} ${value.toString()}`;
  return typeof value;
}

/** `capabilities[0].kind`, the way users read paths. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out || '(document)';
}
