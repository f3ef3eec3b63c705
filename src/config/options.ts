import { DEFAULT_HEARTBEAT_MS } from '../sync/config.js';
import { LOG_LEVELS } from '../util/logger.js';

import type { AgentConfig } from './agent-config.js';

export { EXIT, OptionError } from './exit.js';
export { isBooleanWord, parseBoolean, parseOptionValue } from './option-values.js';

// The option table's target type, taken from here by most importers.
export type { AgentConfig, HostPort } from './agent-config.js';

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
    help: `heartbeat period in ms; lost after 3.5 periods (default: ${DEFAULT_HEARTBEAT_MS})`,
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
    key: 'nodeMetrics',
    flag: 'node-metrics',
    env: 'HERALD_NODE_METRICS',
    kind: 'bool',
    help: "prom-client's default process_/nodejs_ metrics (GC, event loop lag) in /metrics (default: true)",
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
  {
    key: 'apiSocket',
    flag: 'api-socket',
    env: 'HERALD_API_SOCKET',
    kind: 'string',
    help: 'also serve the local API on this unix socket (mode 0660): its permissions decide who may register',
    restart: true,
  },
];
