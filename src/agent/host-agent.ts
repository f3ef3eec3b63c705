import { hostname } from 'node:os';
import type { AgentConfig } from '../config/options.js';
import { PeerHttpServer } from '../http/peer-server.js';
import { FolderProfileSource } from '../profiles/source.js';
import { HttpPeerClient } from '../transport/http-peer-client.js';
import { UdpMulticastTransport } from '../transport/udp-multicast.js';
import { systemClock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { Agent } from './agent.js';
import { nextIncarnation } from './identity.js';
import { resolveInterface } from './interfaces.js';

/** The real thing: an agent on this host's interface, with UDP multicast and HTTP peers. */
export async function createHostAgent(config: AgentConfig, logger: Logger): Promise<Agent> {
  const iface = resolveInterface(config.interface);
  const clock = systemClock();
  const incarnation = await nextIncarnation(config.stateDir, clock.now());
  return new Agent(
    {
      clock,
      random: Math.random,
      logger,
      profiles: new FolderProfileSource(config.profiles),
      transport: new UdpMulticastTransport({
        group: config.group.host,
        port: config.group.port,
        interfaceAddress: iface.address,
        onError: (err) => logger.warn({ err: err.message }, 'multicast socket error'),
      }),
      peers: new HttpPeerClient({ localAddress: iface.address }),
      peerListener: (service) => {
        const server = new PeerHttpServer(service, { host: iface.address, port: config.peerPort });
        return { start: async () => (await server.start()).port, stop: () => server.stop() };
      },
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
}
