import { hostname } from 'node:os';
import { EXIT, OptionError, type AgentConfig, type HostPort } from '../config/options.js';
import type { ApiComponents } from '../http/api-server.js';
import { PeerHttpServer } from '../http/peer-server.js';
import { createHeraldMetrics, type HeraldMetrics } from '../metrics/herald-metrics.js';
import { FolderProfileSource } from '../profiles/source.js';
import { FileRegistrationStore } from '../registration/store.js';
import { HmacEnvelope } from '../protocol/hmac-envelope.js';
import { bearerAuthorizer, loadApiToken } from '../security/api-token.js';
import { isLoopbackAddress, isLoopbackHost, loopbackHostAuthorizer, resolveBindAddress } from '../security/loopback.js';
import { loadKeyRing } from '../security/cluster-key.js';
import { PeerAuth } from '../security/peer-auth.js';
import { HttpPeerClient } from '../transport/http-peer-client.js';
import { netmaskOf, onLinkOf } from '../transport/on-link.js';
import { SourceLimitedTransport } from '../transport/source-limit.js';
import { UdpMulticastTransport } from '../transport/udp-multicast.js';
import type { DatagramTransport, PeerService } from '../transport/transport.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { HERALD_VERSION } from '../version.js';
import type { AgentExtension } from './agent.js';
import { Agent, type PeerListener } from './agent.js';
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
async function extensionsFor(
  config: AgentConfig,
  interfaceAddress: string,
  peers: HttpPeerClient,
): Promise<AgentExtension[]> {
  const out: AgentExtension[] = [];
  if (config.discovery !== 'multicast') {
    const { MdnsDiscovery } = await import('../mdns/mdns-discovery.js');
    // mDNS hints are checked over the agent's own peer client: signed both ways when a key is set.
    out.push(new MdnsDiscovery({ interfaceAddress, browse: true, publishDevices: config.mdnsDevices, peers }));
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
        stateDir: config.stateDir,
      }),
    );
  }
  return out;
}

/** The local API's URL as other hosts reach it, for Home Assistant's link to the agent; none on loopback. */
function apiUrl(config: AgentConfig, interfaceAddress: string): string | undefined {
  const { host, port } = config.api;
  if (isLoopbackAddress(host) || isLoopbackHost(host) || port === 0) return undefined;
  const address = host === '0.0.0.0' || host === '::' ? interfaceAddress : host;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}/v1/agents`;
}

/**
 * The local API's guard: with a token, the bearer check; without one, the API must be bound to a
 * loopback address (judged by the address its --api resolves to, which is then what is bound) and
 * answers only loopback Host names (DNS rebinding).
 */
async function guardApi(config: AgentConfig): Promise<{ authorizeApi: ApiComponents['authorize']; api: HostPort }> {
  if (config.apiTokenFile)
    return { authorizeApi: bearerAuthorizer(await loadApiToken(config.apiTokenFile)), api: config.api };
  const bind = await resolveBindAddress(config.api.host).catch((err: unknown) => {
    throw new OptionError(
      `--api ${config.api.host}: cannot resolve it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      EXIT.usage,
    );
  });
  if (!bind.loopback) {
    throw new OptionError(
      `--api ${config.api.host}:${config.api.port} listens beyond loopback: set --api-token-file so that only ` +
        `holders of the token can read the directory (it resolves to ${bind.address})`,
      EXIT.usage,
    );
  }
  return { authorizeApi: loopbackHostAuthorizer(), api: { host: bind.address, port: config.api.port } };
}

/** What the host's sockets report to: refusals and bugs are counted and logged (once a minute each). */
interface HostIo {
  clock: Clock;
  logger: Logger;
  metrics: HeraldMetrics;
  rejectedLog: RateLimitedLog;
}

/** UDP multicast on the interface, behind the per-source datagram rate limit. */
function datagramTransport(config: AgentConfig, interfaceAddress: string, io: HostIo): DatagramTransport {
  const { logger, metrics, rejectedLog } = io;
  const socketLog = new RateLimitedLog(io.clock, 60_000);
  const udp = new UdpMulticastTransport({
    group: config.group.host,
    port: config.group.port,
    interfaceAddress,
    onLink: onLinkOf(interfaceAddress, netmaskOf(interfaceAddress)),
    onOffLink: (from, kind) => {
      metrics.invalidInput.inc({ source: 'datagram', reason: 'off-link' });
      if (rejectedLog.allow(`${from.address}:datagram-off-link`))
        logger.warn({ from: from.address, kind }, 'dropped a datagram from off the link (another interface?)');
    },
    // A link that is down fails every send: said once a minute per cause, not once a datagram.
    onError: (err) => {
      if (socketLog.allow((err as NodeJS.ErrnoException).code ?? 'unknown'))
        logger.warn({ err: err.message }, 'multicast socket error (repeats are not logged for a minute)');
    },
    onHandlerError: (err) => {
      metrics.bugs.inc({ where: 'datagram-handler' });
      if (socketLog.allow('handler')) logger.error({ err }, 'bug: handling a datagram failed');
    },
  });
  return new SourceLimitedTransport(udp, io.clock, (from) => {
    metrics.invalidInput.inc({ source: 'datagram', reason: 'rate-limited' });
    if (rejectedLog.allow(`${from.address}:datagram-rate`))
      logger.warn({ from: from.address }, 'datagrams from this source beyond its rate are dropped');
  });
}

/** The peer endpoint on the interface; refusals counted as invalid input, handler failures as bugs. */
function peerListener(service: PeerService, at: HostPort, auth: PeerAuth | undefined, io: HostIo): PeerListener {
  const { logger, metrics, rejectedLog } = io;
  const server = new PeerHttpServer(service, at, {
    auth,
    clock: io.clock,
    onRejected: (reason, from, err) => {
      if (reason === 'internal') {
        metrics.bugs.inc({ where: 'peer-handler' });
        if (rejectedLog.allow(`${from}:${reason}`)) logger.error({ from, err }, 'peer request failed');
        return;
      }
      metrics.invalidInput.inc({ source: 'peer-request', reason });
      if (rejectedLog.allow(`${from}:${reason}`)) logger.warn({ from, reason }, 'refused a peer request');
    },
  });
  return { start: async () => (await server.start()).port, stop: () => server.stop() };
}

/** The real thing: an agent on this host's interface, with UDP multicast and HTTP peers. */
export async function createHostAgent(config: AgentConfig, logger: Logger): Promise<HostAgent> {
  const iface = await awaitInterface(config.interface, { onWait: (detail) => logger.warn(detail) });
  const clock = systemClock();
  const { authorizeApi, api } = await guardApi(config);

  const keys = config.keyFile ? await loadKeyRing(config.keyFile) : undefined;
  if (!keys)
    logger.warn(
      'no cluster key (--key-file): any host on the LAN can announce devices to this site; see docs/security.md',
    );
  const peerAuth = keys && new PeerAuth(keys, clock);
  const envelope = keys && new HmacEnvelope(keys, clock);
  const metrics = createHeraldMetrics();
  const io: HostIo = { clock, logger, metrics, rejectedLog: new RateLimitedLog(clock, 60_000) };

  const incarnation = await nextIncarnation(config.stateDir, clock.now());
  const peers = new HttpPeerClient({ localAddress: iface.address, auth: peerAuth });
  const agent = new Agent(
    {
      clock,
      random: Math.random,
      logger,
      profiles: new FolderProfileSource(config.profiles),
      metrics,
      transport: config.discovery === 'mdns' ? undefined : datagramTransport(config, iface.address, io),
      extensions: await extensionsFor(config, iface.address, peers),
      envelope,
      peers,
      peerListener: (service, metrics) =>
        peerListener(service, { host: iface.address, port: config.peerPort }, peerAuth, { ...io, metrics }),
      authorizeApi,
      onLink: onLinkOf(iface.address, netmaskOf(iface.address)),
      defer: (work) => setImmediate(work), // hints after the turn's datagrams, as the bench measures it
      apiToken: config.apiTokenFile !== undefined,
      registrations: config.stateDir ? new FileRegistrationStore(config.stateDir) : undefined,
      processMetrics: { full: config.nodeMetrics },
    },
    {
      name: config.name,
      site: config.site,
      incarnation,
      address: iface.address,
      host: hostname(),
      heartbeatMs: config.heartbeatMs,
      api,
      apiSocket: config.apiSocket,
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
