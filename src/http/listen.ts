import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What one HTTP listener allows a client: the time to send headers and a request, how long an idle
 * connection is kept, and how many connections one source and all sources may hold. Past a cap a new
 * connection is closed at once; every refusal goes to `onRefused` with a typed reason.
 */
export interface HttpBounds {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** A connection silent this long is closed, including one that never sent a byte. */
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerSource: number;
  maxHeadersCount?: number;
}

export type ConnectionRefusal = 'connections-total' | 'connections-per-source' | 'idle' | `client-error-${string}`;

export interface ListenInit {
  host: string;
  port: number;
  bounds: HttpBounds;
  onRefused?: (reason: ConnectionRefusal, from: string) => void;
}

/** How often Node checks the header and request deadlines: its default (30 s) let idle sockets pile up. */
const CHECK_INTERVAL_MS = 1000;

/** Creates, bounds and starts a server; resolves once it listens, rejects on EADDRINUSE and the like. */
export async function listenBounded(handler: RequestListener, init: ListenInit): Promise<Server> {
  const b = init.bounds;
  const server = createServer(
    {
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
      headersTimeout: b.headersTimeoutMs,
      requestTimeout: b.requestTimeoutMs,
    },
    handler,
  );
  server.keepAliveTimeout = b.keepAliveTimeoutMs;
  server.timeout = b.idleTimeoutMs;
  if (b.maxHeadersCount) server.maxHeadersCount = b.maxHeadersCount;
  const refuse = (reason: ConnectionRefusal, socket: Socket) => {
    init.onRefused?.(reason, socket.remoteAddress ?? '');
    socket.destroy();
  };
  const bySource = new Map<string, number>();
  let open = 0;
  server.on('connection', (socket: Socket) => {
    const from = socket.remoteAddress ?? '';
    const held = bySource.get(from) ?? 0;
    if (open >= b.maxConnections) return refuse('connections-total', socket);
    if (held >= b.maxConnectionsPerSource) return refuse('connections-per-source', socket);
    open += 1;
    bySource.set(from, held + 1);
    socket.once('close', () => {
      open -= 1;
      const left = (bySource.get(from) ?? 1) - 1;
      if (left > 0) bySource.set(from, left);
      else bySource.delete(from);
    });
  });
  // With a 'timeout' listener Node no longer closes the socket itself: this one closes, and counts the
  // sockets that never made a request (a kept-alive socket that served one times out as designed).
  const served = new WeakSet<Socket>();
  server.on('request', (req: IncomingMessage) => served.add(req.socket));
  server.on('timeout', (socket: Socket) => (served.has(socket) ? socket.destroy() : refuse('idle', socket)));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    init.onRefused?.(`client-error-${err.code ?? 'unknown'}`, socket.remoteAddress ?? '');
    if (!socket.writable || err.code === 'ECONNRESET') return socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    // The server is half-open (allowHalfOpen): end() alone would wait for the client's FIN forever.
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(init.port, init.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export function boundAddress(server: Server): AddressInfo {
  return server.address() as AddressInfo;
}

/** Closes the listener and every connection it still holds, idle or not. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
