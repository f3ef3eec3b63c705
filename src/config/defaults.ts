import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_HEARTBEAT_MS } from '../sync/config.js';
import type { AgentConfig } from './options.js';

/** One place for defaults, each with its reason. */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  return {
    name: defaultAgentName(),
    site: 'default', // one site per LAN unless the operator splits it
    interface: 'lo', // never the LAN by surprise: a deployment names its interface
    api: { host: '127.0.0.1', port: 7755 }, // local programs only; elsewhere needs a token
    profiles: './device-profiles',
    stateDir: env.STATE_DIRECTORY?.split(':')[0], // systemd's StateDirectory= sets it
    keyFile: credentialKeyFile(env), // the unit's LoadCredential=cluster.key, when one is installed
    logLevel: 'info',
    logFormat: 'auto',
    group: { host: '239.255.70.70', port: 7770 }, // organisation-local scope (RFC 2365), not routed off site
    peerPort: 7771, // a listener apart from the local API: peers never reach the local API
    heartbeatMs: DEFAULT_HEARTBEAT_MS,
    discovery: 'both', // Herald's own datagrams for speed, mDNS so that standard tools see the agent
    mdnsDevices: false, // one service per device is noisy on a big site: opt in
    nodeMetrics: true, // what dashboards expect; --no-node-metrics saves about 1 MiB resident
    mqttBase: 'herald',
    mqttProtocol: '5', // retained-message clearing and reason codes; 3.1.1 for old brokers
    mqttMode: 'agent', // each agent publishes its own: no single point of failure
    mqttHomeassistant: false,
    mqttImport: [],
    mqttRequests: false, // requests can forget agents: a site opts in
    mqttRetireAfter: 86_400, // a host down for a day is gone, not rebooting
  };
}

/** The credential systemd passes the cluster key in (LoadCredential=cluster.key:/etc/herald/cluster.key). */
export const KEY_CREDENTIAL = 'cluster.key';

/**
 * The cluster key systemd passes as a credential: a copy in $CREDENTIALS_DIRECTORY readable by the
 * unit's dynamic user alone, while the installed file stays root's, mode 0600. The unit's fallback
 * (SetCredential=) is a comment alone when no key is installed: that is an open cluster, as without
 * --key-file, not an error.
 */
export function credentialKeyFile(env: NodeJS.ProcessEnv): string | undefined {
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) return undefined;
  const file = join(dir, KEY_CREDENTIAL);
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    return lines.some((l) => l.trim() !== '' && !l.trim().startsWith('#')) ? file : undefined;
  } catch {
    return undefined;
  }
}

export function defaultAgentName(): string {
  const cleaned = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return cleaned || 'herald';
}
