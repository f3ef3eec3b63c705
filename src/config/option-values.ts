import { OptionError } from './exit.js';
import type { HostPort, OptionSpec } from './options.js';

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Turns one raw value (from a flag, the environment or the file) into a typed one, or says why not. */
export function parseOptionValue(spec: OptionSpec, raw: unknown, source: string): unknown {
  const where = source;
  const text =
    typeof raw === 'number' || typeof raw === 'boolean'
      ? String(raw)
      : Array.isArray(raw) && spec.kind === 'names'
        ? raw.join(',')
        : raw;
  if (typeof text !== 'string') throw new OptionError(`${where}: expected a ${spec.kind}, got ${JSON.stringify(raw)}`);
  switch (spec.kind) {
    case 'string':
      if (text === '') throw new OptionError(`${where}: must not be empty`);
      return text;
    case 'name':
      if (!NAME_PATTERN.test(text))
        throw new OptionError(
          `${where}: '${text}' is not a valid name (lowercase letters, digits, '.', '_' or '-', at most 63)`,
        );
      return text;
    case 'enum':
      if (spec.values?.includes(text) !== true)
        throw new OptionError(`${where}: must be one of ${(spec.values ?? []).join(', ')}; got '${text}'`);
      return text;
    case 'port':
      return parsePort(text, where, true);
    case 'url':
      return parseBrokerUrl(text, where);
    case 'topic':
      if (!/^[^#+\s/][^#+\s]*[^#+\s/]$|^[^#+\s/]$/.test(text))
        throw new OptionError(
          `${where}: '${text}' is not a valid topic prefix (no wildcards, spaces, or leading/trailing '/')`,
        );
      return text;
    case 'names':
      return parseSiteNames(text, where);
    case 'bool':
      return parseBoolean(text, where);
    case 'duration-ms': {
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < 50 || n > 600_000)
        throw new OptionError(`${where}: must be a whole number of milliseconds from 50 to 600000; got '${text}'`);
      return n;
    }
    case 'seconds': {
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < 1 || n > 31_536_000)
        throw new OptionError(`${where}: must be a whole number of seconds from 1 to 31536000; got '${text}'`);
      return n;
    }
    case 'hostport':
    case 'group':
      return parseHostPort(text, where, spec.kind);
  }
}

/** A comma-separated list of site names (blanks between commas ignored). */
function parseSiteNames(text: string, where: string): string[] {
  const list = text
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const n of list) if (!NAME_PATTERN.test(n)) throw new OptionError(`${where}: '${n}' is not a valid site name`);
  return list;
}

function parseBrokerUrl(text: string, where: string): string {
  let url: URL;
  // 'broker.lan:1883' parses as a URL of scheme 'broker.lan': without '://' it is a host, not a scheme.
  const suggestion = `; did you mean mqtt://${text}?`;
  try {
    url = new URL(text);
  } catch {
    throw new OptionError(
      `${where}: '${text}' is not a URL${text.includes('://') ? ' (e.g. mqtt://broker.lan:1883)' : suggestion}`,
    );
  }
  if (!text.includes('://')) throw new OptionError(`${where}: '${text}' has no scheme${suggestion}`);
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol))
    throw new OptionError(`${where}: scheme must be mqtt, mqtts, ws or wss; got '${url.protocol.replace(':', '')}'`);
  return text;
}

export function parseHostPort(text: string, where: string, kind: 'hostport' | 'group'): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new OptionError(`${where}: expected HOST:PORT, got '${text}'`);
  const host = (m[1] as string | undefined) ?? m[2];
  const port = parsePort(m[3], where, kind === 'hostport');
  if (kind === 'group') {
    const first = Number(host.split('.')[0]);
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(host) || first < 224 || first > 239) {
      throw new OptionError(`${where}: '${host}' is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255)`);
    }
  }
  return { host, port };
}

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

/**
 * One boolean vocabulary for flags (`--x=VALUE`), the environment and the config file, in any case:
 * YAML 1.2 reads `True` as a boolean while `yes` stays a string, so the words are taken here as well.
 */
export function isBooleanWord(text: string): boolean {
  const word = text.trim().toLowerCase();
  return TRUE_WORDS.includes(word) || FALSE_WORDS.includes(word);
}

export function parseBoolean(text: string, where: string): boolean {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  throw new OptionError(`${where}: must be true or false (or yes/no, on/off, 1/0); got '${text}'`);
}

function parsePort(text: string, where: string, allowZero: boolean): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535 || (n === 0 && !allowZero))
    throw new OptionError(`${where}: '${text}' is not a port number`);
  return n;
}
