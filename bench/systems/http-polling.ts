import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent as UndiciAgent, request } from 'undici';
import type { Device } from '../../src/profiles/model.js';
import { jitter, seededRandom } from '../../src/util/random.js';
import {
  agentNames,
  type BenchCluster,
  benchDevice,
  type BenchSystem,
  type ClusterOptions,
  emptyTraffic,
} from '../system.js';
import { TCP_EXCHANGE_OVERHEAD } from '../wire.js';

/**
 * Polling, as Eureka-style clients do: every agent asks every peer for its state every period, over
 * keep-alive HTTP, with an ETag so that an unchanged state costs a 304. No multicast at all, so datagram
 * loss does not touch it; its price is N × (N - 1) requests every period.
 */
export const httpPolling: BenchSystem = {
  name: 'http-polling',
  description: 'every agent polls every peer over HTTP every period (ETag, 304 when unchanged)',
  async start(opts: ClusterOptions): Promise<BenchCluster> {
    const traffic = emptyTraffic();
    const listeners: ((viewer: number, origin: string) => void)[] = [];
    const names = agentNames(opts.agents);
    const nodes = names.map((name, i) => ({
      name,
      version: 1,
      devices: Array.from({ length: opts.devicesPerAgent }, (_, k) => benchDevice(name, k)) as Device[],
      view: new Map<string, { version: number; state: 'alive' | 'lost' }>(),
      server: undefined as Server | undefined,
      port: 0,
      served: 0,
      timer: undefined as NodeJS.Timeout | undefined,
      random: seededRandom(opts.seed * 104729 + i),
      crashed: false,
      dispatcher: new UndiciAgent({ connections: 1, keepAliveTimeout: 10_000 }),
    }));

    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            const counted = new WeakMap<Socket, { read: number; written: number }>();
            const server = createServer((req, res) => {
              n.served += 1;
              const socket = req.socket;
              const changed = req.headers['if-none-match'] !== `"${n.version}"`;
              res.once('finish', () => {
                const last = counted.get(socket) ?? { read: 0, written: 0 };
                counted.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
                const bytes = socket.bytesRead - last.read + socket.bytesWritten - last.written + TCP_EXCHANGE_OVERHEAD;
                traffic.httpBytes += bytes;
                if (changed && req.headers['if-none-match'] !== undefined) traffic.changeBytes += bytes;
              });
              if (!changed) {
                res.writeHead(304).end();
                return;
              }
              const body = JSON.stringify({ version: n.version, devices: n.devices });
              res
                .writeHead(200, {
                  etag: `"${n.version}"`,
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(body),
                })
                .end(body);
            });
            server.listen(0, '127.0.0.1', () => {
              n.server = server;
              n.port = (server.address() as AddressInfo).port;
              resolve();
            });
          }),
      ),
    );

    const poll = async (i: number) => {
      const n = nodes[i];
      await Promise.all(
        nodes.map(async (peer) => {
          if (peer === n || n.crashed) return;
          const held = n.view.get(peer.name);
          traffic.httpRequests += 1;
          try {
            const res = await request(`http://127.0.0.1:${peer.port}/state`, {
              dispatcher: n.dispatcher,
              headers: held ? { 'if-none-match': `"${held.version}"` } : {},
              signal: AbortSignal.timeout(opts.heartbeatMs),
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
          for (const l of listeners) l(i, peer.name);
        }),
      );
    };
    const schedule = (i: number, first = false) => {
      const n = nodes[i];
      n.timer = setTimeout(
        async () => {
          await poll(i);
          if (!n.crashed) schedule(i);
        },
        first ? n.random() * opts.heartbeatMs : jitter(n.random, opts.heartbeatMs, 0.2),
      );
    };
    await Promise.all(nodes.map((_, i) => poll(i)));
    nodes.forEach((_, i) => schedule(i, true));

    const live = () => nodes.filter((n) => !n.crashed);
    return {
      names,
      async change(i, devices) {
        const n = nodes[i];
        n.devices = devices;
        n.version += 1;
        return n.version;
      },
      onProgress: (cb) => listeners.push(cb),
      held: (viewer, origin) =>
        nodes[viewer].view.get(origin)?.version ?? (nodes[viewer].name === origin ? nodes[viewer].version : 0),
      state: (viewer, origin) => nodes[viewer].view.get(origin)?.state,
      converged: () =>
        live().every((v) =>
          live().every(
            (o) => o === v || (v.view.get(o.name)?.version === o.version && v.view.get(o.name)?.state === 'alive'),
          ),
        ),
      traffic: () => ({ ...traffic }),
      maxServed: () => Math.max(...nodes.map((n) => n.served)),
      async crash(i) {
        const n = nodes[i];
        n.crashed = true;
        clearTimeout(n.timer);
        n.server?.closeAllConnections();
        await new Promise<void>((r) => n.server!.close(() => r()));
      },
      async stop() {
        for (const n of nodes) {
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
