import { hostname } from 'node:os';
import { LOG_LEVELS } from '../util/logger.js';

/**
 * Every exit code of the herald command, named. 64 and above are sysexits(3), which service managers
 * and scripts understand; the unit's RestartPreventExitStatus= lists the two that a restart cannot fix.
 */
export const EXIT = {
  ok: 0,
  /** The command ran and the answer is "no": invalid profiles, a device that does not exist. */
  failure: 1,
  /** A bad flag, argument or environment value: fix the command line. */
  usage: 64,
  /** The agent to ask is not running, or a port the agent needs is taken. */
  unavailable: 69,
  /** A fault of Herald itself; a restart may help. */
  software: 70,
  /** The local API wants a token the command did not give. */
  noPermission: 77,
  /** The config, key or token file is unreadable or wrong: fix the file. */
  config: 78,
} as const;

/** A bad option: one clear message, exit 64 (or 78 when the config file itself is at fault). */
export class OptionError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'OptionError';
  }
}

export interface HostPort {
  host: string;
  port: number;
}

export interface AgentConfig {
  name: string;
  site: string;
  interface: string;
  api: HostPort;
  profiles: string;
  stateDir?: string;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: 'json' | 'pretty' | 'auto';
  group: HostPort;
  peerPort: number;
  heartbeatMs: number;
  keyFile?: string;
  apiTokenFile?: string;
  discovery: 'multicast' | 'mdns' | 'both';
  mdnsDevices: boolean;
  mqttUrl?: string;
  mqttBase: string;
  mqttUser?: string;
  mqttPasswordFile?: string;
  mqttCa?: string;
  mqttCert?: string;
  mqttKey?: string;
  mqttProtocol: '5' | '3.1.1';
  mqttMode: 'agent' | 'gateway';
  mqttHomeassistant: boolean;
  mqttImport: string[];
  mqttRequests: boolean;
  /** Seconds a lost agent's retained MQTT state is kept before it is cleared. */
  mqttRetireAfter: number;
}

type Kind =
  | 'string'
  | 'name'
  | 'port'
  | 'hostport'
  | 'group'
  | 'duration-ms'
  | 'seconds'
  | 'enum'
  | 'bool'
  | 'url'
  | 'names'
  | 'topic';

export interface OptionSpec {
  key: keyof AgentConfig;
  flag: string;
  env: string;
  kind: Kind;
  values?: readonly string[];
  help: string;
  /** Changing it on SIGHUP needs a restart: the sockets or identity depend on it. */
  restart?: boolean;
}

export const AGENT_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'name',
    flag: 'name',
    env: 'HERALD_NAME',
    kind: 'name',
    help: 'agent name, unique on its site (default: host name)',
    restart: true,
  },
  {
    key: 'site',
    flag: 'site',
    env: 'HERALD_SITE',
    kind: 'name',
    help: 'site name; agents of other sites are ignored (default: default)',
    restart: true,
  },
  {
    key: 'interface',
    flag: 'interface',
    env: 'HERALD_INTERFACE',
    kind: 'string',
    help: 'network interface, by name or IPv4 address (default: lo)',
    restart: true,
  },
  {
    key: 'api',
    flag: 'api',
    env: 'HERALD_API',
    kind: 'hostport',
    help: 'local HTTP API address (default: 127.0.0.1:7755)',
    restart: true,
  },
  {
    key: 'profiles',
    flag: 'profiles',
    env: 'HERALD_PROFILES',
    kind: 'string',
    help: 'device profiles folder (default: ./device-profiles)',
    restart: true,
  },
  {
    key: 'stateDir',
    flag: 'state-dir',
    env: 'HERALD_STATE_DIR',
    kind: 'string',
    help: 'folder for the agent identity and incarnation (default: $STATE_DIRECTORY, else none)',
    restart: true,
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'HERALD_LOG_LEVEL',
    kind: 'enum',
    values: LOG_LEVELS,
    help: 'trace|debug|info|warn|error|fatal|silent (default: info)',
  },
  {
    key: 'logFormat',
    flag: 'log-format',
    env: 'HERALD_LOG_FORMAT',
    kind: 'enum',
    values: ['json', 'pretty', 'auto'],
    help: 'json|pretty|auto: pretty on a terminal (default: auto)',
    restart: true,
  },
  {
    key: 'group',
    flag: 'group',
    env: 'HERALD_GROUP',
    kind: 'group',
    help: 'multicast group and port (default: 239.255.70.70:7770)',
    restart: true,
  },
  {
    key: 'peerPort',
    flag: 'peer-port',
    env: 'HERALD_PEER_PORT',
    kind: 'port',
    help: 'port of the peer endpoint for catch-up (default: 7771; 0 picks a free one)',
    restart: true,
  },
  {
    key: 'heartbeatMs',
    flag: 'heartbeat-ms',
    env: 'HERALD_HEARTBEAT_MS',
    kind: 'duration-ms',
    help: 'heartbeat period in ms; lost after 3.5 periods (default: 1000)',
    restart: true,
  },
  {
    key: 'discovery',
    flag: 'discovery',
    env: 'HERALD_DISCOVERY',
    kind: 'enum',
    values: ['multicast', 'mdns', 'both'],
    help: 'multicast|mdns|both: Herald datagrams, mDNS/DNS-SD, or both (default: both)',
    restart: true,
  },
  {
    key: 'mdnsDevices',
    flag: 'mdns-devices',
    env: 'HERALD_MDNS_DEVICES',
    kind: 'bool',
    help: 'publish each device with an HTTP endpoint as _http._tcp (default: false)',
    restart: true,
  },
  {
    key: 'mqttUrl',
    flag: 'mqtt-url',
    env: 'HERALD_MQTT_URL',
    kind: 'url',
    help: 'MQTT broker: mqtt://, mqtts://, ws:// or wss:// (default: none, no bridge)',
    restart: true,
  },
  {
    key: 'mqttBase',
    flag: 'mqtt-base',
    env: 'HERALD_MQTT_BASE',
    kind: 'topic',
    help: 'topic prefix; topics are <base>/<site>/... (default: herald)',
    restart: true,
  },
  {
    key: 'mqttUser',
    flag: 'mqtt-user',
    env: 'HERALD_MQTT_USER',
    kind: 'string',
    help: 'broker user name',
    restart: true,
  },
  {
    key: 'mqttPasswordFile',
    flag: 'mqtt-password-file',
    env: 'HERALD_MQTT_PASSWORD_FILE',
    kind: 'string',
    help: 'file holding the broker password',
    restart: true,
  },
  {
    key: 'mqttCa',
    flag: 'mqtt-ca',
    env: 'HERALD_MQTT_CA',
    kind: 'string',
    help: 'CA certificate file to trust for mqtts:// and wss://',
    restart: true,
  },
  {
    key: 'mqttCert',
    flag: 'mqtt-cert',
    env: 'HERALD_MQTT_CERT',
    kind: 'string',
    help: 'client certificate file (TLS client authentication)',
    restart: true,
  },
  {
    key: 'mqttKey',
    flag: 'mqtt-key',
    env: 'HERALD_MQTT_KEY',
    kind: 'string',
    help: 'client key file (TLS client authentication)',
    restart: true,
  },
  {
    key: 'mqttProtocol',
    flag: 'mqtt-protocol',
    env: 'HERALD_MQTT_PROTOCOL',
    kind: 'enum',
    values: ['5', '3.1.1'],
    help: '5|3.1.1 (default: 5)',
    restart: true,
  },
  {
    key: 'mqttMode',
    flag: 'mqtt-mode',
    env: 'HERALD_MQTT_MODE',
    kind: 'enum',
    values: ['agent', 'gateway'],
    help: 'agent: publish own devices; gateway: the whole directory (default: agent)',
    restart: true,
  },
  {
    key: 'mqttHomeassistant',
    flag: 'mqtt-homeassistant',
    env: 'HERALD_MQTT_HOMEASSISTANT',
    kind: 'bool',
    help: 'Home Assistant MQTT discovery (default: false)',
    restart: true,
  },
  {
    key: 'mqttImport',
    flag: 'mqtt-import',
    env: 'HERALD_MQTT_IMPORT',
    kind: 'names',
    help: "SITE[,SITE...]: add other sites' devices from the broker as remote entries",
    restart: true,
  },
  {
    key: 'mqttRequests',
    flag: 'mqtt-requests',
    env: 'HERALD_MQTT_REQUESTS',
    kind: 'bool',
    help: 'answer <base>/<site>/bridge/request/<command> (devices, agents, get, forget) (default: false)',
    restart: true,
  },
  {
    key: 'mqttRetireAfter',
    flag: 'mqtt-retire-after',
    env: 'HERALD_MQTT_RETIRE_AFTER',
    kind: 'seconds',
    help: "seconds a lost agent's retained MQTT state and HA entries are kept (default: 86400, a day)",
    restart: true,
  },
  {
    key: 'keyFile',
    flag: 'key-file',
    env: 'HERALD_KEY_FILE',
    kind: 'string',
    help: 'cluster key file: authenticates datagrams and catch-up; SIGHUP re-reads it (default: none, an open cluster)',
    restart: true,
  },
  {
    key: 'apiTokenFile',
    flag: 'api-token-file',
    env: 'HERALD_API_TOKEN_FILE',
    kind: 'string',
    help: 'bearer token file for the local API; required when it listens beyond loopback',
    restart: true,
  },
];

/** One place for defaults, each with its reason. */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  return {
    name: defaultAgentName(),
    site: 'default', // one site per LAN unless the operator splits it
    interface: 'lo', // never the LAN by surprise: a deployment names its interface
    api: { host: '127.0.0.1', port: 7755 }, // local programs only; elsewhere needs a token
    profiles: './device-profiles',
    stateDir: env.STATE_DIRECTORY?.split(':')[0], // systemd's StateDirectory= sets it
    logLevel: 'info',
    logFormat: 'auto',
    group: { host: '239.255.70.70', port: 7770 }, // organisation-local scope (RFC 2365), not routed off site
    peerPort: 7771, // a listener apart from the local API: peers never reach the local API
    heartbeatMs: 1000, // a missed last change is noticed within about a second
    discovery: 'both', // Herald's own datagrams for speed, mDNS so that standard tools see the agent
    mdnsDevices: false, // one service per device is noisy on a big site: opt in
    mqttBase: 'herald',
    mqttProtocol: '5', // retained-message clearing and reason codes; 3.1.1 for old brokers
    mqttMode: 'agent', // each agent publishes its own: no single point of failure
    mqttHomeassistant: false,
    mqttImport: [],
    mqttRequests: false, // requests can forget agents: a site opts in
    mqttRetireAfter: 86_400, // a host down for a day is gone, not rebooting
  };
}

export function defaultAgentName(): string {
  const cleaned = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return cleaned || 'herald';
}

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
    case 'url': {
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
        throw new OptionError(
          `${where}: scheme must be mqtt, mqtts, ws or wss; got '${url.protocol.replace(':', '')}'`,
        );
      return text;
    }
    case 'topic':
      if (!/^[^#+\s/][^#+\s]*[^#+\s/]$|^[^#+\s/]$/.test(text))
        throw new OptionError(
          `${where}: '${text}' is not a valid topic prefix (no wildcards, spaces, or leading/trailing '/')`,
        );
      return text;
    case 'names': {
      const list = text
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      for (const n of list)
        if (!NAME_PATTERN.test(n)) throw new OptionError(`${where}: '${n}' is not a valid site name`);
      return list;
    }
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
    case 'group': {
      const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
      if (!m) throw new OptionError(`${where}: expected HOST:PORT, got '${text}'`);
      const host = (m[1] as string | undefined) ?? m[2];
      const port = parsePort(m[3], where, spec.kind === 'hostport');
      if (spec.kind === 'group') {
        const first = Number(host.split('.')[0]);
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(host) || first < 224 || first > 239) {
          throw new OptionError(`${where}: '${host}' is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255)`);
        }
      }
      return { host, port };
    }
  }
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
