import { hostname } from 'node:os';
import { EXIT, OptionError, type AgentConfig } from '../config/options.js';
import { PeerHttpServer } from '../http/peer-server.js';
import { FolderProfileSource } from '../profiles/source.js';
import { HmacEnvelope } from '../protocol/hmac-envelope.js';
import { bearerAuthorizer, isLoopback, loadApiToken } from '../security/api-token.js';
import { loadKeyRing } from '../security/cluster-key.js';
import { PeerAuth } from '../security/peer-auth.js';
import { HttpPeerClient } from '../transport/http-peer-client.js';
import { UdpMulticastTransport } from '../transport/udp-multicast.js';
import { systemClock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { HERALD_VERSION } from '../version.js';
import type { AgentExtension } from './agent.js';
import { Agent } from './agent.js';
import { nextIncarnation } from './identity.js';
import { awaitInterface } from './interfaces.js';

export interface HostAgent {
  agent: Agent;
  /** The interface and the address the agent runs on. */
  iface: { name: string; address: string };
  /**
   * Re-reads what SIGHUP re-reads beyond the profiles: the cluster key file. Throws KeyFileError, with
   * the keys in use kept, when the file cannot be read or holds no valid key.
   */
  reloadSecrets(): Promise<void>;
}

/** mDNS and MQTT are loaded only when configured: on a small host every unused module is memory. */
async function extensionsFor(config: AgentConfig, interfaceAddress: string): Promise<AgentExtension[]> {
  const out: AgentExtension[] = [];
  if (config.discovery !== 'multicast') {
    const { MdnsDiscovery } = await import('../mdns/mdns-discovery.js');
    out.push(new MdnsDiscovery({ interfaceAddress, browse: true, publishDevices: config.mdnsDevices }));
  }
  if (config.mqttUrl) {
    const { MqttBridge } = await import('../mqtt/bridge.js');
    out.push(
      new MqttBridge({
        url: config.mqttUrl,
        base: config.mqttBase,
        protocol: config.mqttProtocol,
        mode: config.mqttMode,
        homeAssistant: config.mqttHomeassistant,
        importSites: config.mqttImport,
        requests: config.mqttRequests,
        retireAfterMs: config.mqttRetireAfter * 1000,
        configurationUrl: apiUrl(config, interfaceAddress),
        user: config.mqttUser,
        passwordFile: config.mqttPasswordFile,
        caFile: config.mqttCa,
        certFile: config.mqttCert,
        keyFile: config.mqttKey,
        softwareVersion: HERALD_VERSION,
      }),
    );
  }
  return out;
}

/** The local API's URL as other hosts reach it, for Home Assistant's link to the agent; none on loopback. */
function apiUrl(config: AgentConfig, interfaceAddress: string): string | undefined {
  const { host, port } = config.api;
  if (isLoopback(host) || port === 0) return undefined;
  const address = host === '0.0.0.0' || host === '::' ? interfaceAddress : host;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}/v1/agents`;
}

/** The real thing: an agent on this host's interface, with UDP multicast and HTTP peers. */
export async function createHostAgent(config: AgentConfig, logger: Logger): Promise<HostAgent> {
  const iface = await awaitInterface(config.interface, { onWait: (detail) => logger.warn(detail) });
  const clock = systemClock();

  let authorizeApi;
  if (config.apiTokenFile) authorizeApi = bearerAuthorizer(await loadApiToken(config.apiTokenFile));
  else if (!isLoopback(config.api.host)) {
    throw new OptionError(
      `--api ${config.api.host}:${config.api.port} listens beyond loopback: set --api-token-file so that only holders of the token can read the directory`,
      EXIT.usage,
    );
  }

  const keys = config.keyFile ? await loadKeyRing(config.keyFile) : undefined;
  if (!keys)
    logger.warn(
      'no cluster key (--key-file): any host on the LAN can announce devices to this site; see docs/security.md',
    );
  const peerAuth = keys && new PeerAuth(keys, clock);
  const envelope = keys && new HmacEnvelope(keys, clock);
  const rejectedLog = new RateLimitedLog(clock, 60_000);
  const socketLog = new RateLimitedLog(clock, 60_000);

  const incarnation = await nextIncarnation(config.stateDir, clock.now());
  const agent = new Agent(
    {
      clock,
      random: Math.random,
      logger,
      profiles: new FolderProfileSource(config.profiles),
      transport:
        config.discovery === 'mdns'
          ? undefined
          : new UdpMulticastTransport({
              group: config.group.host,
              port: config.group.port,
              interfaceAddress: iface.address,
              // A link that is down fails every send: said once a minute per cause, not once a datagram.
              onError: (err) => {
                if (socketLog.allow((err as NodeJS.ErrnoException).code ?? err.name))
                  logger.warn({ err: err.message }, 'multicast socket error (repeats are not logged for a minute)');
              },
            }),
      extensions: await extensionsFor(config, iface.address),
      envelope,
      peers: new HttpPeerClient({ localAddress: iface.address, auth: peerAuth }),
      peerListener: (service, metrics) => {
        const server = new PeerHttpServer(
          service,
          { host: iface.address, port: config.peerPort },
          {
            auth: peerAuth,
            clock,
            onRejected: (reason, from) => {
              metrics.invalidInput.inc({ source: 'peer-request', reason });
              if (rejectedLog.allow(`${from}:${reason}`)) logger.warn({ from, reason }, 'refused a peer request');
            },
          },
        );
        return { start: async () => (await server.start()).port, stop: () => server.stop() };
      },
      authorizeApi,
      processMetrics: { full: config.nodeMetrics },
    },
    {
      name: config.name,
      site: config.site,
      incarnation,
      address: iface.address,
      host: hostname(),
      heartbeatMs: config.heartbeatMs,
      api: config.api,
    },
  );
  return {
    agent,
    iface,
    async reloadSecrets() {
      if (!config.keyFile || !envelope || !peerAuth) return;
      const next = await loadKeyRing(config.keyFile);
      envelope.setKeys(next);
      peerAuth.setKeys(next);
      logger.info({ keys: next.all.map((k) => k.id), signing: next.signing.id }, 'cluster key file reloaded');
    },
  };
}
