import { Agent, type AgentComponents, type AgentExtension } from '../../src/agent/agent.js';
import { PeerHttpServer } from '../../src/http/peer-server.js';
import { MdnsDiscovery } from '../../src/mdns/mdns-discovery.js';
import { onLinkOf } from '../../src/transport/on-link.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import { MessageType } from '../../src/protocol/messages.js';
import { MemoryProfileSource } from '../../src/profiles/source.js';
import { generateKey, parseKeyRing, type KeyRing } from '../../src/security/cluster-key.js';
import { PeerAuth } from '../../src/security/peer-auth.js';
import { HttpPeerClient } from '../../src/transport/http-peer-client.js';
import { lossyUdpSocket } from '../../src/transport/lossy-socket.js';
import { withReceiveLoss } from '../../src/transport/lossy.js';
import type { DatagramTransport } from '../../src/transport/transport.js';
import { UdpMulticastTransport } from '../../src/transport/udp-multicast.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';
import { seededRandom } from '../../src/util/random.js';
import type { BenchCluster, BenchSystem, ClusterOptions } from '../system.js';
import { TCP_EXCHANGE_OVERHEAD } from '../wire.js';
import { BenchNodes, type BenchNode } from './nodes.js';

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
  /** false runs the pre-issue-18 protocol (every agent heartbeats each period): the scale step's baseline. */
  heartbeatScaling?: boolean;
  /** Around agent i's datagram transport, outermost (socket-receive-cost.ts times each agent's handler). */
  wrap?: (i: number, transport: DatagramTransport) => DatagramTransport;
  /** Runs a datagram's deferred hints (at the loop's next check phase by default): socket-receive-cost.ts times them. */
  defer?: (work: () => void) => void;
}

/** Herald with today's heartbeat (no scaling with the site's size), the baseline the scale step divides by. */
export const heraldUnscaled: BenchSystem = {
  name: 'herald-unscaled',
  description: "Herald with heartbeatScaling: false: every agent multicasts a heartbeat each period (today's protocol)",
  start: (opts) => startHerald(opts, 'multicast', { heartbeatScaling: false }),
};

/** The multicast group every Herald bench site uses (each on its own port). */
export const BENCH_GROUP = '239.255.70.70';

/** Byte 3 of every Herald datagram is its message type ('H' 'R' format type ...). */
const TYPE_BYTE = 3;

/** Loss on receive, from the node's own source; announcements are what changes cost. */
function countedMulticast(nodes: BenchNodes, node: BenchNode, opts: ClusterOptions): DatagramTransport {
  const udp = new UdpMulticastTransport({ group: BENCH_GROUP, port: opts.port, interfaceAddress: '127.0.0.1' });
  const counted: DatagramTransport = {
    // Counted before the loss: what reaches the agent's sockets, what its host wakes for.
    start: (h) =>
      udp.start((data, from, kind) => {
        nodes.countReceived(data.length, kind === 'unicast');
        h(data, from, kind);
      }),
    send: (d) => {
      nodes.countDatagram(d.length, d[TYPE_BYTE] === MessageType.announce);
      udp.send(d);
    },
    sendTo: (d, to) => {
      nodes.countDatagram(d.length, d[TYPE_BYTE] === MessageType.announce);
      udp.sendTo(d, to);
    },
    stop: () => udp.stop(),
  };
  return withReceiveLoss(counted, () => opts.loss, node.random);
}

/** With --discovery mdns every datagram is an mDNS one, and counts as change traffic. */
function countedMdns(nodes: BenchNodes, node: BenchNode, loss: number): MdnsDiscovery {
  return new MdnsDiscovery({
    interfaceAddress: '127.0.0.1',
    browse: true,
    publishDevices: false,
    socket: lossyUdpSocket(loss, node.random, (bytes) => nodes.countDatagram(bytes, true)),
  });
}

/** The peer endpoint on loopback, counting each exchange's wire bytes; catch-up ones are change traffic. */
function countedPeerListener(nodes: BenchNodes, auth: PeerAuth | undefined): AgentComponents['peerListener'] {
  return (service) => {
    const server = new PeerHttpServer(
      service,
      { host: '127.0.0.1', port: 0 },
      {
        auth,
        onExchange: (route, bytesIn, bytesOut, query) => {
          const bytes = bytesIn + bytesOut + TCP_EXCHANGE_OVERHEAD;
          const t = nodes.traffic;
          t.httpRequests += 1;
          t.httpBytes += bytes;
          if (route === '/v1/peer/changes') t.changeBytes += bytes;
          if (route !== '/v1/peer/hello') return;
          const summary = new URLSearchParams(query).get('peers') === '1';
          t[summary ? 'summaryRequests' : 'helloRequests'] += 1;
          t[summary ? 'summaryBytes' : 'helloBytes'] += bytes;
        },
      },
    );
    return { start: async () => (await server.start()).port, stop: () => server.stop() };
  };
}

interface HeraldSite {
  nodes: BenchNodes;
  opts: ClusterOptions;
  discovery: 'multicast' | 'mdns';
  extra: HeraldBenchOptions;
  shared: Pick<AgentComponents, 'random' | 'logger'> & { clock: Clock };
}

export interface HeraldMember {
  agent: Agent;
  source: MemoryProfileSource;
}

const wrapped = (extra: HeraldBenchOptions, i: number, t: DatagramTransport) => extra.wrap?.(i, t) ?? t;

function heraldAgent(site: HeraldSite, node: BenchNode): HeraldMember {
  const { nodes, opts, discovery, extra, shared } = site;
  const { clock } = shared;
  const i = node.index;
  const source = new MemoryProfileSource(node.devices);
  const agent = new Agent(
    {
      ...shared,
      profiles: source,
      transport: discovery === 'multicast' ? wrapped(extra, i, countedMulticast(nodes, node, opts)) : undefined,
      extensions: discovery === 'mdns' ? [countedMdns(nodes, node, opts.loss)] : (extra.extensions?.(i) ?? []),
      peers: new HttpPeerClient({ auth: extra.keys && new PeerAuth(extra.keys, clock) }),
      envelope: extra.keys && new HmacEnvelope(extra.keys, clock),
      peerListener: countedPeerListener(nodes, extra.keys && new PeerAuth(extra.keys, clock)),
      // The site is loopback, as a host agent's link is its interface's subnet: open sites adopt summaries.
      onLink: onLinkOf('127.0.0.1', '255.0.0.0'),
      // As a host agent runs: a datagram's hints after the other datagrams of the loop's turn (change14).
      defer: extra.defer ?? ((work) => setImmediate(work)),
    },
    {
      name: node.name,
      site: `b${opts.port}`,
      incarnation: clock.now() * 1000 + i,
      address: '127.0.0.1',
      host: 'localhost',
      heartbeatMs: opts.heartbeatMs,
      api: extra.apiOnFirst && i === 0 ? { host: '127.0.0.1', port: 0 } : null,
      heartbeatScaling: extra.heartbeatScaling,
    },
  );
  agent.directory.subscribe((e) => nodes.progressed(i, e.agent));
  return { agent, source };
}

/** Agent i starts at i/N of `opts.startSpreadMs` (at once without it), as hosts of a site do. */
export function startStaggered(opts: ClusterOptions, i: number, start: () => Promise<void>): Promise<void> {
  const at = ((opts.startSpreadMs ?? 0) * i) / opts.agents;
  return at > 0 ? new Promise((r) => setTimeout(r, at)).then(start) : start();
}

/**
 * Agents `from` to `to` - 1 of a multicast site, not started: the scale step runs a big site as
 * such slices, one a child process. Agent i's loss source is the same as in a whole site.
 */
export function heraldSlice(opts: ClusterOptions, extra: HeraldBenchOptions, from: number, to: number) {
  const random = seededRandom(opts.seed * 7919 + from);
  const shared = { clock: systemClock(), random, logger: createLogger({ level: 'silent' }) };
  const nodes = new BenchNodes(opts, 1000, () => ({}));
  const site: HeraldSite = { nodes, opts, discovery: 'multicast', extra, shared };
  const made = new Map(nodes.nodes.slice(from, to).map((node) => [node.index, heraldAgent(site, node)]));
  return { nodes, made, opts };
}

export async function startHerald(
  opts: ClusterOptions,
  discovery: 'multicast' | 'mdns',
  extra: HeraldBenchOptions = {},
): Promise<BenchCluster & { agents: Agent[] }> {
  const shared = { clock: systemClock(), random: seededRandom(opts.seed), logger: createLogger({ level: 'silent' }) };
  // Agent i's own source (loss) is seededRandom(seed × 1000 + i), as it has always been.
  const nodes = new BenchNodes(opts, 1000, () => ({}));
  const site: HeraldSite = { nodes, opts, discovery, extra, shared };
  const made = nodes.nodes.map((node) => heraldAgent(site, node));
  const agents = made.map((m) => m.agent);
  await Promise.all(agents.map((a, i) => startStaggered(opts, i, () => a.start())));
  const running = () => agents.filter((_, i) => !nodes.nodes[i].crashed);
  const holdsCurrent = (v: Agent, o: Agent) => {
    const held = v.directory.held(o.name);
    return held?.version === o.local.currentVersion && held.state === 'alive';
  };
  const sent = (a: Agent) =>
    a.metrics.announcementsSent.get({ type: 'announce' }) + a.metrics.announcementsSent.get({ type: 'mdns' });
  return {
    ...nodes.cluster(),
    agents,
    async change(i, devices) {
      made[i].source.set(devices);
      await agents[i].reload('bench');
      return agents[i].local.currentVersion;
    },
    held: (viewer, origin) => agents[viewer].directory.held(origin)?.version ?? 0,
    state: (viewer, origin) => agents[viewer].directory.held(origin)?.state,
    converged: () => running().every((v) => running().every((o) => holdsCurrent(v, o))),
    traffic: () => ({ ...nodes.traffic, changeDatagrams: agents.reduce((n, a) => n + sent(a), 0) }),
    maxServed: () =>
      Math.max(...agents.map((a) => a.metrics.peerRequestsServed.get({ route: 'changes', status: '200' }))),
    async crash(i) {
      nodes.nodes[i].crashed = true;
      await agents[i].stop({ goodbye: false });
    },
    async stop() {
      await Promise.all(agents.filter((_, i) => !nodes.nodes[i].crashed).map((a) => a.stop({ goodbye: false })));
    },
  };
}
