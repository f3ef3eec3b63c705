import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent as UndiciAgent, request } from 'undici';
import { jitter } from '../../src/util/random.js';
import type { BenchCluster, BenchSystem, ClusterOptions } from '../system.js';
import { TCP_EXCHANGE_OVERHEAD } from '../wire.js';
import { BenchNodes, heldVersions, type BenchNode, type HeldVersion } from './nodes.js';

interface Poller {
  view: Map<string, HeldVersion>;
  server: Server | undefined;
  port: number;
  served: number;
  dispatcher: UndiciAgent;
}
type PollingNode = BenchNode & Poller;
type PollingNodes = BenchNodes<Poller>;

/** Wire bytes of each exchange on a keep-alive socket: what the socket counted since the last one. */
function exchangeBytes(): (socket: Socket) => number {
  const counted = new WeakMap<Socket, { read: number; written: number }>();
  return (socket) => {
    const last = counted.get(socket) ?? { read: 0, written: 0 };
    counted.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
    return socket.bytesRead - last.read + socket.bytesWritten - last.written + TCP_EXCHANGE_OVERHEAD;
  };
}

/** The state of `n`, or 304 when the poller already holds its version. */
function serveState(nodes: PollingNodes, n: PollingNode): (req: IncomingMessage, res: ServerResponse) => void {
  const bytesOf = exchangeBytes();
  return (req, res) => {
    n.served += 1;
    const socket = req.socket;
    const changed = req.headers['if-none-match'] !== `"${n.version}"`;
    res.once('finish', () => {
      const bytes = bytesOf(socket);
      nodes.traffic.httpBytes += bytes;
      if (changed && req.headers['if-none-match'] !== undefined) nodes.traffic.changeBytes += bytes;
    });
    if (!changed) {
      res.writeHead(304).end();
      return;
    }
    const body = JSON.stringify({ version: n.version, devices: n.devices });
    const headers = {
      etag: `"${n.version}"`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    res.writeHead(200, headers).end(body);
  };
}

function listen(nodes: PollingNodes, n: PollingNode): Promise<void> {
  return new Promise<void>((resolve) => {
    const server = createServer(serveState(nodes, n));
    server.listen(0, '127.0.0.1', () => {
      n.server = server;
      n.port = (server.address() as AddressInfo).port;
      resolve();
    });
  });
}

/** `n` asks one peer for its state, with the ETag of the version it holds. */
async function pollPeer(n: PollingNode, peer: PollingNode, heartbeatMs: number): Promise<void> {
  const held = n.view.get(peer.name);
  try {
    const res = await request(`http://127.0.0.1:${peer.port}/state`, {
      dispatcher: n.dispatcher,
      headers: held ? { 'if-none-match': `"${held.version}"` } : {},
      signal: AbortSignal.timeout(heartbeatMs),
    });
    if (res.statusCode === 200) {
      const body = (await res.body.json()) as { version: number };
      n.view.set(peer.name, { version: body.version, state: 'alive' });
    } else {
      await res.body.dump();
      if (held) held.state = 'alive';
    }
  } catch {
    if (held && held.state === 'alive') held.state = 'lost'; // a refused or timed-out poll
  }
}

async function poll(nodes: PollingNodes, n: PollingNode, heartbeatMs: number): Promise<void> {
  await Promise.all(
    nodes.nodes.map(async (peer) => {
      if (peer === n || n.crashed) return;
      nodes.traffic.httpRequests += 1;
      await pollPeer(n, peer, heartbeatMs);
      nodes.progressed(n.index, peer.name);
    }),
  );
}

/** Every period, with a fifth of jitter; the first at a random point of the first period. */
function schedule(nodes: PollingNodes, n: PollingNode, heartbeatMs: number, first = false): void {
  const next = async () => {
    await poll(nodes, n, heartbeatMs);
    if (!n.crashed) schedule(nodes, n, heartbeatMs);
  };
  n.timer = setTimeout(() => void next(), first ? n.random() * heartbeatMs : jitter(n.random, heartbeatMs, 0.2));
}

/**
 * Polling, as Eureka-style clients do: every agent asks every peer for its state every period, over
 * keep-alive HTTP, with an ETag so that an unchanged state costs a 304. No multicast at all, so datagram
 * loss does not touch it; its price is N × (N - 1) requests every period.
 */
export const httpPolling: BenchSystem = {
  name: 'http-polling',
  description: 'every agent polls every peer over HTTP every period (ETag, 304 when unchanged)',
  async start(opts: ClusterOptions): Promise<BenchCluster> {
    const nodes: PollingNodes = new BenchNodes(opts, 104729, () => ({
      view: new Map<string, HeldVersion>(),
      server: undefined as Server | undefined,
      port: 0,
      served: 0,
      dispatcher: new UndiciAgent({ connections: 1, keepAliveTimeout: 10_000 }),
    }));
    await Promise.all(nodes.nodes.map((n) => listen(nodes, n)));
    await Promise.all(nodes.nodes.map((n) => poll(nodes, n, opts.heartbeatMs)));
    nodes.nodes.forEach((n) => schedule(nodes, n, opts.heartbeatMs, true));
    return {
      ...nodes.cluster(),
      ...heldVersions(nodes),
      change(i, devices) {
        const n = nodes.nodes[i];
        n.devices = devices;
        n.version += 1;
        return Promise.resolve(n.version);
      },
      maxServed: () => Math.max(...nodes.nodes.map((n) => n.served)),
      async crash(i) {
        const n = nodes.nodes[i];
        n.crashed = true;
        clearTimeout(n.timer);
        n.server?.closeAllConnections();
        await new Promise<void>((r) => n.server!.close(() => r()));
      },
      async stop() {
        for (const n of nodes.nodes) {
          n.crashed = true;
          clearTimeout(n.timer);
          n.server?.closeAllConnections();
          n.server?.close();
          await n.dispatcher.close();
        }
      },
    };
  },
};
