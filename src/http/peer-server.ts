import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AUTH_HEADER, type PeerAuth } from '../security/peer-auth.js';
import { PEER_PATHS } from '../sync/peer-protocol.js';
import type { PeerService } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import { OncePerAnswer } from '../util/once-per-answer.js';
import { TokenBuckets } from '../util/token-bucket.js';
import { boundAddress, closeServer, listenBounded, type BoundedServer, type HttpBounds } from './listen.js';
import { parseRequestTarget, RequestTargetError, type RequestTarget } from './request-target.js';

/**
 * Catch-up requests are tiny and quick: a peer that has not sent its headers in 2 s is cut off, and a
 * connection that never sends a byte goes after 3 s. An agent opens at most two sockets to a peer
 * (HttpPeerClient), so 16 per source is ample; 512 in all bounds what a LAN can make the agent hold.
 * Keep-alive (4 s) outlasts the client's idle timeout (2 s), so the client closes idle sockets first.
 */
export const PEER_BOUNDS: HttpBounds = {
  headersTimeoutMs: 2_000,
  requestTimeoutMs: 3_000,
  keepAliveTimeoutMs: 4_000,
  idleTimeoutMs: 3_000,
  maxConnections: 512,
  maxConnectionsPerSource: 16,
  loopbackExempt: true,
  maxHeadersCount: 32,
  maxRequestsPerSocket: 10_000,
};

export interface PeerServerOptions {
  /** With a cluster key: requests must be signed, and answers are. */
  auth?: PeerAuth;
  clock?: Clock;
  /** Requests a second one source may make (sustained), and the burst allowed. */
  ratePerSecond?: number;
  burst?: number;
  /** Timeouts and connection caps; PEER_BOUNDS unless a test needs others. */
  bounds?: HttpBounds;
  /** Every refused request or connection, by reason: counted and logged (rate-limited) by the caller. */
  onRejected?: (reason: string, from: string, err?: unknown) => void;
  /** Taps for accounting (the benchmark counts bytes on the wire, a summary apart); none in production. */
  onExchange?: (route: string, bytesIn: number, bytesOut: number, query: string) => void;
}

/**
 * The peer endpoint: a listener apart from the local API, on the LAN interface, serving only the
 * catch-up protocol. It takes GET without a body, bounded headers and time, a request rate per source,
 * and (with a cluster key) signed requests only.
 */
export class PeerHttpServer {
  private server: BoundedServer | undefined;
  private readonly buckets: TokenBuckets | undefined;
  /**
   * The bytes of each frozen answer object, made once: the directory gives every asker of an origin's version the
   * same (frozen) snapshot, and serialising it and encoding the text were a fifth of a keep-alive catch-up's CPU
   * (cpu15). Answers made for one request (hellos, problems) are not kept.
   */
  private readonly bytes = new OncePerAnswer((body) => Buffer.from(JSON.stringify(body)));

  constructor(
    private readonly service: PeerService,
    private readonly init: { host: string; port: number },
    private readonly opts: PeerServerOptions = {},
  ) {
    // A joining agent asks each origin once; 100 a second from one host is far beyond need.
    this.buckets = opts.clock ? new TokenBuckets(opts.clock, opts.ratePerSecond ?? 100, opts.burst ?? 200) : undefined;
  }

  async start(): Promise<AddressInfo> {
    if (this.server) return boundAddress(this.server);
    const counted = new WeakMap<Socket, { read: number; written: number }>();
    this.server = await listenBounded(
      (req, res) => {
        if (this.opts.onExchange) this.tapExchange(req, res, counted, this.opts.onExchange);
        this.handleSafely(req, res);
      },
      {
        ...this.init,
        bounds: this.opts.bounds ?? PEER_BOUNDS,
        onRefused: (reason, from) => this.opts.onRejected?.(reason, from),
      },
    );
    return boundAddress(this.server);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
  }

  private tapExchange(
    req: IncomingMessage,
    res: ServerResponse,
    counted: WeakMap<Socket, { read: number; written: number }>,
    onExchange: NonNullable<PeerServerOptions['onExchange']>,
  ): void {
    const socket = req.socket;
    const [path, query = ''] = (req.url ?? '').split('?');
    res.once('finish', () => {
      const last = counted.get(socket) ?? { read: 0, written: 0 };
      const now = { read: socket.bytesRead, written: socket.bytesWritten };
      counted.set(socket, now);
      onExchange(path, now.read - last.read, now.written - last.written, query);
    });
  }

  /** No request may take the process down: whatever a handler throws is a 500, counted and reported. */
  private handleSafely(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.handle(req, res);
    } catch (err) {
      this.opts.onRejected?.('internal', req.socket.remoteAddress ?? '', err);
      if (res.headersSent) res.destroy();
      else
        send(res, 500, { type: 'about:blank', title: 'internal', status: 500, detail: 'the agent failed to answer' });
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const from = req.socket.remoteAddress ?? '';
    const reject = (status: number, reason: string, detail: string) => {
      this.opts.onRejected?.(reason, from);
      send(res, status, { type: 'about:blank', title: reason, status, detail });
    };
    if (this.buckets && !this.buckets.take(from))
      return reject(429, 'rate-limited', 'too many requests from this address; slow down');
    let url: RequestTarget;
    try {
      url = parseRequestTarget(req.url);
    } catch (err) {
      if (!(err instanceof RequestTargetError)) throw err;
      return reject(400, `target-${err.reason}`, err.message);
    }
    const route =
      url.pathname === PEER_PATHS.changes ? 'changes' : url.pathname === PEER_PATHS.hello ? 'hello' : undefined;
    if (!route) return reject(404, 'no-route', `no peer route ${url.pathname.slice(0, 64)}`);
    if (req.method !== 'GET') return reject(405, 'method', 'the peer endpoint answers GET only');
    if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding']) {
      return reject(413, 'body', 'peer requests carry no body');
    }
    let requestSignature: string | undefined;
    if (this.opts.auth) {
      const header = req.headers[AUTH_HEADER];
      const check = this.opts.auth.verifyRequest(Array.isArray(header) ? header[0] : header, 'GET', req.url ?? '/');
      if (!check.ok)
        return reject(401, `auth-${check.reason}`, `request refused: ${check.reason} authentication (cluster key)`);
      requestSignature = check.signature;
    }
    const answer = this.service.handle(route, url.searchParams, { address: from, port: req.socket.remotePort ?? 0 });
    const body = Object.isFrozen(answer.body) ? this.bytes.of(answer.body) : JSON.stringify(answer.body);
    const headers: Record<string, string> = {
      'content-type': answer.status === 200 ? 'application/json' : 'application/problem+json',
    };
    if (this.opts.auth && requestSignature) headers[AUTH_HEADER] = this.opts.auth.signResponse(requestSignature, body);
    send(res, answer.status, body, headers);
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/problem+json' },
): void {
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
