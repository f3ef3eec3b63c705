import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { PeerService } from '../transport/transport.js';
import { PEER_PATHS } from '../sync/peer-protocol.js';

/**
 * The peer endpoint: a listener apart from the local API, on the LAN interface, serving only the
 * catch-up protocol. Peers never reach the local API through it.
 */
export class PeerHttpServer {
  private server: Server | undefined;

  constructor(
    private readonly service: PeerService,
    private readonly init: { host: string; port: number },
    /** Taps for accounting (the benchmark counts bytes on the wire); none in production. */
    private readonly taps: { onExchange?: (route: string, bytesIn: number, bytesOut: number) => void } = {},
  ) {}

  async start(): Promise<AddressInfo> {
    if (this.server) return this.server.address() as AddressInfo;
    const counted = new WeakMap<Socket, { read: number; written: number }>();
    const server = createServer((req, res) => {
      if (this.taps.onExchange) {
        const socket = req.socket;
        res.once('finish', () => {
          const last = counted.get(socket) ?? { read: 0, written: 0 };
          const now = { read: socket.bytesRead, written: socket.bytesWritten };
          counted.set(socket, now);
          this.taps.onExchange!(url.pathname, now.read - last.read, now.written - last.written);
        });
      }
      const url = new URL(req.url ?? '/', 'http://peer.invalid');
      const route = url.pathname === PEER_PATHS.changes ? 'changes' : url.pathname === PEER_PATHS.hello ? 'hello' : undefined;
      let status = 404;
      let body: unknown = { type: 'about:blank', title: 'Not found', status: 404, detail: `no peer route ${url.pathname}` };
      if (route && req.method !== 'GET') {
        status = 405;
        body = { type: 'about:blank', title: 'Method not allowed', status: 405, detail: 'the peer endpoint answers GET only' };
      } else if (route) {
        ({ status, body } = this.service.handle(route, url.searchParams, { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 }));
      }
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': status === 200 ? 'application/json' : 'application/problem+json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    });
    server.headersTimeout = 5_000; // a peer that trickles headers is cut off: catch-up requests are tiny
    server.requestTimeout = 10_000;
    server.keepAliveTimeout = 15_000; // longer than the client's, so the client closes idle sockets first
    server.maxHeadersCount = 32;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.init.port, this.init.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return server.address() as AddressInfo;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
