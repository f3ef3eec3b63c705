import { createSocket, type Socket } from 'node:dgram';
import type { Device } from '../../src/profiles/model.js';
import { jitter } from '../../src/util/random.js';
import type { BenchCluster, BenchSystem, ClusterOptions } from '../system.js';
import { BenchNodes, heldVersions, type BenchNode, type HeldVersion } from './nodes.js';

const GROUP = '239.255.70.70';

interface Heard extends HeldVersion {
  heard: number;
}
type FullStateNode = BenchNode & { view: Map<string, Heard>; socket: Socket | undefined };
type FullStateNodes = BenchNodes<{ view: Map<string, Heard>; socket: Socket | undefined }>;

function send(nodes: FullStateNodes, n: FullStateNode, port: number, change = false): void {
  const payload = Buffer.from(JSON.stringify({ name: n.name, version: n.version, devices: n.devices }));
  nodes.countDatagram(payload.length, change);
  n.socket?.send(payload, port, GROUP);
}

/** Every period, with a fifth of jitter: the whole set again. */
function schedule(nodes: FullStateNodes, n: FullStateNode, opts: ClusterOptions): void {
  n.timer = setTimeout(
    () => {
      send(nodes, n, opts.port);
      schedule(nodes, n, opts);
    },
    jitter(n.random, opts.heartbeatMs, 0.2),
  );
}

function receive(nodes: FullStateNodes, n: FullStateNode, data: Buffer, loss: number): void {
  if (n.crashed || n.random() < loss) return;
  const msg = JSON.parse(data.toString('utf8')) as { name: string; version: number; devices: Device[] };
  if (msg.name === n.name) return;
  const v = n.view.get(msg.name);
  if (!v || msg.version > v.version || v.state === 'lost')
    n.view.set(msg.name, { version: Math.max(msg.version, v?.version ?? 0), heard: Date.now(), state: 'alive' });
  else v.heard = Date.now();
  nodes.progressed(n.index, msg.name);
}

function listen(nodes: FullStateNodes, n: FullStateNode, opts: ClusterOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('message', (data) => receive(nodes, n, data, opts.loss));
    socket.bind(opts.port, GROUP, () => {
      socket.addMembership(GROUP, '127.0.0.1');
      socket.setMulticastInterface('127.0.0.1');
      socket.setMulticastTTL(1);
      n.socket = socket;
      resolve();
    });
  });
}

/** A peer not heard for 3.5 periods is lost. */
function sweepLost(nodes: FullStateNodes, heartbeatMs: number): NodeJS.Timeout {
  return setInterval(() => {
    for (const n of nodes.nodes) {
      for (const [origin, v] of n.view) {
        if (v.state === 'alive' && Date.now() - v.heard > 3.5 * heartbeatMs) {
          v.state = 'lost';
          nodes.progressed(n.index, origin);
        }
      }
    }
  }, heartbeatMs / 4);
}

function silence(n: FullStateNode): void {
  clearTimeout(n.timer);
  n.socket?.close();
  n.socket = undefined;
}

/**
 * The naive design: every agent multicasts its whole device set, on every change and every period.
 * No versions to reconcile, no catch-up: a lost datagram is repaired by the next period's copy.
 */
export const fullStateMulticast: BenchSystem = {
  name: 'full-state',
  description: 'every agent multicasts its whole device set on change and every period (the naive design)',
  async start(opts: ClusterOptions): Promise<BenchCluster> {
    const nodes: FullStateNodes = new BenchNodes(opts, 7919, () => ({
      view: new Map<string, Heard>(),
      socket: undefined as Socket | undefined,
    }));
    await Promise.all(nodes.nodes.map((n) => listen(nodes, n, opts)));
    for (const n of nodes.nodes) {
      send(nodes, n, opts.port);
      schedule(nodes, n, opts);
    }
    const sweep = sweepLost(nodes, opts.heartbeatMs);
    return {
      ...nodes.cluster(),
      ...heldVersions(nodes),
      change(i, devices) {
        const n = nodes.nodes[i];
        n.devices = devices;
        n.version += 1;
        nodes.traffic.changeDatagrams += 1;
        send(nodes, n, opts.port, true);
        return Promise.resolve(n.version);
      },
      maxServed: () => 0,
      crash(i) {
        nodes.nodes[i].crashed = true;
        silence(nodes.nodes[i]);
        return Promise.resolve();
      },
      stop() {
        clearInterval(sweep);
        nodes.nodes.forEach(silence);
        return Promise.resolve();
      },
    };
  },
};
