import { Agent, type AgentExtension } from '../../src/agent/agent.js';
import { MdnsDiscovery } from '../../src/mdns/mdns-discovery.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import { generateKey, parseKeyRing, type KeyRing } from '../../src/security/cluster-key.js';
import { PeerAuth } from '../../src/security/peer-auth.js';
import { lossyUdpSocket } from '../../src/transport/lossy-socket.js';
import { MessageType } from '../../src/protocol/messages.js';
import { PeerHttpServer } from '../../src/http/peer-server.js';
import type { Device } from '../../src/profiles/model.js';
import { MemoryProfileSource } from '../../src/profiles/source.js';
import { HttpPeerClient } from '../../src/transport/http-peer-client.js';
import { withReceiveLoss } from '../../src/transport/lossy.js';
import type { DatagramTransport } from '../../src/transport/transport.js';
import { UdpMulticastTransport } from '../../src/transport/udp-multicast.js';
import { systemClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';
import { seededRandom } from '../../src/util/random.js';
import { TCP_EXCHANGE_OVERHEAD, udpWireBytes } from '../wire.js';
import {
  agentName,
  type BenchCluster,
  benchDevice,
  type BenchSystem,
  type ClusterOptions,
  emptyTraffic,
} from '../system.js';

/** Herald itself: real Agents, UDP multicast on lo, HTTP catch-up, loss injected on receive. */
export const heraldMulticast: BenchSystem = {
  name: 'herald',
  description: 'Herald over UDP multicast: deltas in announcements, heartbeats with hints, HTTP catch-up',
  start: (opts) => startHerald(opts, 'multicast'),
};

/** Herald with a cluster key: every datagram and catch-up exchange authenticated. */
export const heraldKeyed: BenchSystem = {
  name: 'herald-keyed',
  description: 'Herald over UDP multicast with a cluster key (HMAC-SHA256 on datagrams and catch-up)',
  start: (opts) => startHerald(opts, 'multicast', { keys: parseKeyRing(generateKey()) }),
};

/** Herald with --discovery mdns: no Herald datagram; mDNS TXT versions, probes, HTTP catch-up. */
export const heraldMdns: BenchSystem = {
  name: 'herald-mdns',
  description:
    'Herald with --discovery mdns: versions in mDNS TXT records (own responder), verified by probes, HTTP catch-up',
  start: (opts) => startHerald(opts, 'mdns'),
};

export interface HeraldBenchOptions {
  keys?: KeyRing;
  /** A local API on agent 0, for the flood scenario's "still answers" check. */
  apiOnFirst?: boolean;
  /** Extensions for agent i (the MQTT scenario puts a gateway bridge on agent 0). */
  extensions?: (i: number) => AgentExtension[];
}

export async function startHerald(
  opts: ClusterOptions,
  discovery: 'multicast' | 'mdns',
  extra: HeraldBenchOptions = {},
): Promise<BenchCluster & { agents: Agent[] }> {
  {
    const clock = systemClock();
    const random = seededRandom(opts.seed);
    const logger = createLogger({ level: 'silent' });
    const traffic = emptyTraffic();
    const agents: Agent[] = [];
    const sources: MemoryProfileSource[] = [];
    const crashed = new Set<number>();
    const listeners: ((viewer: number, origin: string) => void)[] = [];

    const make = (i: number) => {
      const name = agentName(i);
      const source = new MemoryProfileSource(
        Array.from({ length: opts.devicesPerAgent }, (_, k) => benchDevice(name, k)),
      );
      const udp = new UdpMulticastTransport({ group: '239.255.70.70', port: opts.port, interfaceAddress: '127.0.0.1' });
      const counted: DatagramTransport = {
        start: (h) => udp.start(h),
        send: (d) => {
          traffic.datagrams += 1;
          traffic.datagramBytes += udpWireBytes(d.length);
          if (d[3] === MessageType.announce) traffic.changeBytes += udpWireBytes(d.length);
          udp.send(d);
        },
        stop: () => udp.stop(),
      };
      const agent = new Agent(
        {
          clock,
          random,
          logger,
          profiles: source,
          transport:
            discovery === 'multicast'
              ? withReceiveLoss(counted, () => opts.loss, seededRandom(opts.seed * 1000 + i))
              : undefined,
          extensions:
            discovery === 'mdns'
              ? [
                  new MdnsDiscovery({
                    interfaceAddress: '127.0.0.1',
                    browse: true,
                    publishDevices: false,
                    socket: lossyUdpSocket(opts.loss, seededRandom(opts.seed * 1000 + i), (bytes) => {
                      traffic.datagrams += 1;
                      traffic.datagramBytes += udpWireBytes(bytes);
                      traffic.changeBytes += udpWireBytes(bytes);
                    }),
                  }),
                ]
              : (extra.extensions?.(i) ?? []),
          peers: new HttpPeerClient({ auth: extra.keys && new PeerAuth(extra.keys, clock) }),
          envelope: extra.keys && new HmacEnvelope(extra.keys, clock),
          peerListener: (service) => {
            const server = new PeerHttpServer(
              service,
              { host: '127.0.0.1', port: 0 },
              {
                auth: extra.keys && new PeerAuth(extra.keys, clock),
                onExchange: (route, bytesIn, bytesOut) => {
                  const bytes = bytesIn + bytesOut + TCP_EXCHANGE_OVERHEAD;
                  traffic.httpRequests += 1;
                  traffic.httpBytes += bytes;
                  if (route === '/v1/peer/changes') traffic.changeBytes += bytes;
                },
              },
            );
            return { start: async () => (await server.start()).port, stop: () => server.stop() };
          },
        },
        {
          name,
          site: `b${opts.port}`,
          incarnation: clock.now() * 1000 + i,
          address: '127.0.0.1',
          host: 'localhost',
          heartbeatMs: opts.heartbeatMs,
          api: extra.apiOnFirst && i === 0 ? { host: '127.0.0.1', port: 0 } : null,
        },
      );
      agent.directory.subscribe((e) => {
        for (const l of listeners) l(i, e.agent);
      });
      return { agent, source };
    };
    for (let i = 0; i < opts.agents; i++) {
      const { agent, source } = make(i);
      agents.push(agent);
      sources.push(source);
    }
    await Promise.all(agents.map((a) => a.start()));

    const running = () => agents.filter((_, i) => !crashed.has(i));
    return {
      agents,
      names: agents.map((a) => a.name),
      async change(i: number, devices: Device[]) {
        sources[i].set(devices);
        await agents[i].reload('bench');
        return agents[i].local.currentVersion;
      },
      onProgress: (cb) => listeners.push(cb),
      held: (viewer, origin) => agents[viewer].directory.held(origin)?.version ?? 0,
      state: (viewer, origin) => agents[viewer].directory.held(origin)?.state,
      converged: () =>
        running().every((v) =>
          running().every(
            (o) =>
              v.directory.held(o.name)?.version === o.local.currentVersion &&
              v.directory.held(o.name)?.state === 'alive',
          ),
        ),
      traffic: () => ({
        ...traffic,
        changeDatagrams: agents.reduce(
          (n, a) =>
            n +
            a.metrics.announcementsSent.get({ type: 'announce' }) +
            a.metrics.announcementsSent.get({ type: 'mdns' }),
          0,
        ),
      }),
      maxServed: () =>
        Math.max(...agents.map((a) => a.metrics.peerRequestsServed.get({ route: 'changes', status: '200' }))),
      async crash(i: number) {
        crashed.add(i);
        await agents[i].stop({ goodbye: false });
      },
      async stop() {
        await Promise.all(agents.map((a, i) => (crashed.has(i) ? undefined : a.stop({ goodbye: false }))));
      },
    };
  }
}
