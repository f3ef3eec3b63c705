import { createSocket, type Socket } from 'node:dgram';
import type { Server } from 'node:net';
import type { Device } from '../../src/profiles/model.js';
import type { BenchCluster, BenchSystem, ClusterOptions } from '../system.js';
import { startStaggered } from './herald.js';
import { BenchNodes, type BenchNode } from './nodes.js';
import { SwimView, type Peer } from './swim-member.js';
import { LAN, pushPull, pushPullServer, type Datagram, type Message } from './swim-wire.js';

/**
 * A memberlist-style SWIM baseline (Das et al. 2002; hashicorp/memberlist with its DefaultLANConfig):
 * each member pings one member a probe interval over unicast UDP, asks k others to ping it when no ack
 * comes, suspects it when none of them gets an answer either, and declares it dead when it does not
 * refute within the suspicion timeout. News (joins, changes, suspicions, deaths) is piggy-backed on
 * pings and acks and gossiped to a few members every gossip interval, each item sent λ·log N times;
 * a TCP push-pull of the whole state with one random member every 30 s repairs what gossip missed.
 * No multicast at all: the site's load is spread, not shared.
 */

interface SwimExtra {
  view: SwimView;
  socket: Socket | undefined;
  server: Server | undefined;
  timers: NodeJS.Timeout[];
  acks: Map<number, () => void>;
  seq: number;
  order: Peer[];
}
type SwimNode = BenchNode & SwimExtra;

class SwimSite {
  readonly nodes: BenchNodes<SwimExtra>;

  constructor(readonly opts: ClusterOptions) {
    this.nodes = new BenchNodes(opts, 6151, (node, nodes) => ({
      view: new SwimView(node.name, 0, node.devices, { progressed: (o) => nodes.progressed(node.index, o) }),
      socket: undefined,
      server: undefined,
      timers: [],
      acks: new Map(),
      seq: 0,
      order: [],
    }));
  }

  send(n: SwimNode, port: number, msg: Message): void {
    if (!n.socket) return;
    const data = Buffer.from(JSON.stringify({ ...msg, from: n.name, b: n.view.piggyback() }));
    this.nodes.countDatagram(data.length, false);
    n.socket.send(data, port, '127.0.0.1');
  }

  receive(n: SwimNode, data: Buffer, port: number): void {
    this.nodes.countReceived(data.length);
    if (n.crashed || n.random() < this.opts.loss) return;
    const msg = JSON.parse(data.toString('utf8')) as Datagram;
    for (const b of msg.b) n.view.apply(b);
    if (msg.t === 'ping') this.send(n, port, { t: 'ack', seq: msg.seq });
    else if (msg.t === 'ack') n.acks.get(msg.seq)?.();
    else if (msg.t === 'ping-req') this.relay(n, msg, port);
  }

  /** An indirect probe: ping the target for the asker, and pass its ack back under the asker's number. */
  private relay(n: SwimNode, msg: Extract<Datagram, { t: 'ping-req' }>, askerPort: number): void {
    const seq = ++n.seq;
    n.acks.set(seq, () => this.send(n, askerPort, { t: 'ack', seq: msg.seq }));
    setTimeout(() => n.acks.delete(seq), LAN.probeIntervalMs);
    this.send(n, msg.targetPort, { t: 'ping', seq, target: msg.target });
  }

  /** Resolves true when an ack numbered `seq` arrives within `ms`. */
  private acked(n: SwimNode, seq: number, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        n.acks.delete(seq);
        resolve(false);
      }, ms);
      n.acks.set(seq, () => {
        clearTimeout(timer);
        n.acks.delete(seq);
        resolve(true);
      });
    });
  }

  /** The next member in a shuffled round, as memberlist's probe order. */
  private nextTarget(n: SwimNode): Peer | undefined {
    n.order = n.order.filter((p) => p.state !== 'dead');
    if (n.order.length === 0) n.order = shuffle(n.view.live(), n.random);
    return n.order.shift();
  }

  /** One probe period: ping, then k indirect pings, then suspicion. */
  async probe(n: SwimNode): Promise<void> {
    const target = this.nextTarget(n);
    if (!target || n.crashed) return;
    const seq = ++n.seq;
    const direct = this.acked(n, seq, LAN.probeIntervalMs);
    this.send(n, target.port, { t: 'ping', seq, target: target.name });
    const early = await Promise.race([direct, sleep(LAN.probeTimeoutMs).then(() => undefined)]);
    if (early) return;
    const helpers = shuffle(
      n.view.live().filter((p) => p !== target),
      n.random,
    ).slice(0, LAN.indirectChecks);
    for (const h of helpers) this.send(n, h.port, { t: 'ping-req', seq, target: target.name, targetPort: target.port });
    if (!(await direct) && n.socket) n.view.suspect(target, n.name);
  }

  gossip(n: SwimNode): void {
    if (!n.view.hasNews()) return;
    for (const p of shuffle(n.view.live(), n.random).slice(0, LAN.gossipNodes)) this.send(n, p.port, { t: 'gossip' });
  }

  async pushPullWith(n: SwimNode, port: number): Promise<void> {
    try {
      n.view.merge(await pushPull(port, n.view.state()));
    } catch {
      // a crashed member refuses: the probes will find it
    }
  }

  /** UDP and TCP on the same port number, as memberlist binds them: a member's one address serves both. */
  private async bind(n: SwimNode): Promise<void> {
    for (;;) {
      const socket = await bindUdp((data, port) => this.receive(n, data, port));
      const port = socket.address().port;
      const count = (bytes: number) => {
        this.nodes.traffic.httpRequests += 1;
        this.nodes.traffic.httpBytes += bytes;
      };
      try {
        n.server = await pushPullServer(
          port,
          (remote) => n.view.merge(remote),
          () => n.view.state(),
          count,
        );
        n.socket = socket;
        n.view.port = port;
        return;
      } catch {
        socket.close(); // that number is taken for TCP: another pair
      }
    }
  }

  async start(n: SwimNode, seedPort: number | undefined): Promise<void> {
    await this.bind(n);
    n.view.enqueue(n.view.selfAlive([]));
    if (seedPort !== undefined) await this.pushPullWith(n, seedPort);
    const every = (ms: number, fn: () => void) => {
      // A random phase, so that the site's periodic work does not fall on one instant.
      // The first run at the phase itself: else nothing periodic would happen in the first period.
      const first = () => {
        fn();
        n.timers.push(setInterval(fn, ms));
      };
      n.timers.push(setTimeout(first, n.random() * ms));
    };
    every(LAN.probeIntervalMs, () => void this.probe(n));
    every(LAN.gossipIntervalMs, () => this.gossip(n));
    every(pushPullIntervalMs(n.view.size), () => {
      const peer = shuffle(n.view.live(), n.random).at(0);
      if (peer) void this.pushPullWith(n, peer.port);
    });
  }

  silence(n: SwimNode): void {
    for (const t of n.timers) clearTimeout(t);
    n.view.stop();
    n.socket?.close();
    n.socket = undefined;
    n.server?.close();
    n.server = undefined;
  }
}

/** memberlist's pushPullScale: above 32 members the interval grows with log2 N, so the site's load stays flat. */
function pushPullIntervalMs(members: number): number {
  if (members <= 32) return LAN.pushPullIntervalMs;
  return LAN.pushPullIntervalMs * (Math.ceil(Math.log2(members) - Math.log2(32)) + 1);
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function bindUdp(onMessage: (data: Buffer, port: number) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.on('message', (data, rinfo) => onMessage(data, rinfo.port));
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve(socket));
  });
}

function swimCluster(site: SwimSite): BenchCluster {
  const { nodes } = site;
  const all = nodes.nodes;
  const holdsCurrent = (v: SwimNode, o: SwimNode) => {
    const p = v.view.peers.get(o.name);
    return p?.version === o.view.version && p.state !== 'dead';
  };
  return {
    ...nodes.cluster(),
    held: (viewer, origin) => all[viewer].view.peers.get(origin)?.version ?? 0,
    state: (viewer, origin) => {
      const p = all[viewer].view.peers.get(origin);
      return p && (p.state === 'dead' ? 'lost' : 'alive');
    },
    converged: () => nodes.live().every((v) => nodes.live().every((o) => o === v || holdsCurrent(v, o))),
    change(i, devices: Device[]) {
      const n = all[i];
      n.view.changed(devices);
      n.version = n.view.version;
      nodes.traffic.changeDatagrams += 1;
      // News goes out on the next gossip tick, as memberlist's queued broadcasts do.
      return Promise.resolve(n.version);
    },
    maxServed: () => 0,
    crash(i) {
      all[i].crashed = true;
      site.silence(all[i]);
      return Promise.resolve();
    },
    stop() {
      all.forEach((n) => site.silence(n));
      return Promise.resolve();
    },
  };
}

export const swimBaseline: BenchSystem = {
  name: 'swim',
  description:
    'memberlist-style SWIM (DefaultLANConfig): unicast ping / ping-req, suspicion, piggy-backed gossip, 30 s push-pull',
  async start(opts: ClusterOptions): Promise<BenchCluster> {
    const site = new SwimSite(opts);
    const [seed, ...rest] = site.nodes.nodes;
    await site.start(seed, undefined);
    // Each member joins through the first, as memberlist's Join(existing) does.
    await Promise.all(rest.map((n) => startStaggered(opts, n.index, () => site.start(n, seed.view.port))));
    return swimCluster(site);
  },
};
