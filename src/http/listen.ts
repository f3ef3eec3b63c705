import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { isLoopbackAddress } from '../security/loopback.js';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';

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
  /** Loopback is this host: several agents on one host (the bench runs a hundred) share 127.0.0.1. */
  loopbackExempt?: boolean;
  maxHeadersCount?: number;
  /** Requests one kept-alive connection may carry before the server asks the client to reconnect. */
  maxRequestsPerSocket?: number;
}

export type ConnectionRefusal = 'connections-total' | 'connections-per-source' | 'idle' | `client-error-${string}`;

export interface ListenInit {
  host: string;
  port: number;
  bounds: HttpBounds;
  onRefused?: (reason: ConnectionRefusal, from: string) => void;
}

/** Connections the kernel queues before the agent accepts them (Node's default is 511). */
const BACKLOG = 64;

/** How often Node checks the header and request deadlines: its default (30 s) let idle sockets pile up. */
const CHECK_INTERVAL_MS = 1000;

/** A bounded HTTP server: `http` parses requests, `listener` accepts and refuses connections before it. */
export interface BoundedServer {
  http: Server;
  listener: NetServer;
}

/**
 * Creates, bounds and starts a server; resolves once it listens, rejects on EADDRINUSE and the like.
 * Connections are accepted by a plain TCP listener and only those within the caps are handed to the
 * HTTP server: a refused one costs an accept and a close, not an HTTP parser and its timers.
 */
export async function listenBounded(handler: RequestListener, init: ListenInit): Promise<BoundedServer> {
  const b = init.bounds;
  const http = createServer(
    {
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
      headersTimeout: b.headersTimeoutMs,
      requestTimeout: b.requestTimeoutMs,
    },
    handler,
  );
  http.keepAliveTimeout = b.keepAliveTimeoutMs;
  http.timeout = b.idleTimeoutMs;
  if (b.maxHeadersCount) http.maxHeadersCount = b.maxHeadersCount;
  if (b.maxRequestsPerSocket) http.maxRequestsPerSocket = b.maxRequestsPerSocket;
  const refuse = (reason: ConnectionRefusal, socket: Socket) => {
    init.onRefused?.(reason, socket.remoteAddress ?? '');
    socket.destroy();
  };
  const bySource = new Map<string, number>();
  let open = 0;
  const listener = createNetServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket: Socket) => {
    const from = socket.remoteAddress ?? '';
    const held = bySource.get(from) ?? 0;
    if (open >= b.maxConnections) return refuse('connections-total', socket);
    const exempt = b.loopbackExempt && isLoopbackAddress(from);
    if (held >= b.maxConnectionsPerSource && !exempt) return refuse('connections-per-source', socket);
    open += 1;
    bySource.set(from, held + 1);
    socket.once('close', () => {
      open -= 1;
      const left = (bySource.get(from) ?? 1) - 1;
      if (left > 0) bySource.set(from, left);
      else bySource.delete(from);
    });
    http.emit('connection', socket);
    socket.resume();
  });
  guardSockets(http, refuse, init.onRefused);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    // A short accept queue: under a connection flood the kernel drops the excess SYNs, which costs the
    // agent nothing, instead of queueing them for the agent to accept and close one by one.
    listener.listen({ port: init.port, host: init.host, backlog: BACKLOG }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  // The HTTP server tracks connections and checks their deadlines from its 'listening' event on; it
  // never listens itself here, so it is told.
  http.emit('listening');
  return { http, listener };
}

/** Idle and malformed connections: closed, and counted unless they are a kept-alive socket expiring. */
function guardSockets(
  http: Server,
  refuse: (reason: ConnectionRefusal, socket: Socket) => void,
  onRefused: ListenInit['onRefused'],
): void {
  // With a 'timeout' listener Node no longer closes the socket itself: this one closes, and counts the
  // sockets that never made a request (a kept-alive socket that served one times out as designed).
  const served = new WeakSet<Socket>();
  http.on('request', (req: IncomingMessage) => served.add(req.socket));
  http.on('timeout', (socket: Socket) => (served.has(socket) ? socket.destroy() : refuse('idle', socket)));
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    onRefused?.(`client-error-${err.code ?? 'unknown'}`, socket.remoteAddress ?? '');
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
}

export function boundAddress(server: BoundedServer): AddressInfo {
  return server.listener.address() as AddressInfo;
}

/** Closes the listener and every connection it still holds, idle or not. */
export async function closeServer(server: BoundedServer): Promise<void> {
  const closed = new Promise<void>((resolve) => server.listener.close(() => resolve()));
  server.http.closeAllConnections();
  server.http.close(); // stops its deadline checks; it answers "not running" (it never listened), rightly
  await closed;
}
