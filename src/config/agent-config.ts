import type { LOG_LEVELS } from '../util/logger.js';

/** Where one listener or multicast group is. */
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
  apiSocket?: string;
  discovery: 'multicast' | 'mdns' | 'both';
  mdnsDevices: boolean;
  nodeMetrics: boolean;
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
