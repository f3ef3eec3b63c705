import { createRequire } from 'node:module';
import type { Agent as UndiciAgentType, Dispatcher } from 'undici';
import type { Changes } from '../directory/directory.js';
import { AUTH_HEADER, type PeerAuth } from '../security/peer-auth.js';
import { checkChanges, checkHello, MAX_PEER_RESPONSE_BYTES, PEER_PATHS } from '../sync/peer-protocol.js';
import type { ChangesRequest, Endpoint, Hello, PeerClient } from './transport.js';

// undici's package entry loads all of undici (fetch, WebSocket, caches: about 17 MB of resident memory
// on Node 20); the agent needs its Agent and request() only, which load in about 8 MB. Both are public
// classes of undici's own modules; the version is pinned by the lockfile and the tests use this path.
const require = createRequire(import.meta.url);
const UndiciAgent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgentType;
const undiciRequest = require('undici/lib/api/api-request.js') as (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

export class PeerRequestError extends Error {
  constructor(
    readonly reason: 'timeout' | 'refused' | 'status' | 'too-large' | 'malformed' | 'network' | 'unauthenticated',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PeerRequestError';
  }
}

/**
 * Catch-up over HTTP with undici: pooled keep-alive connections (a burst of catch-ups to one peer
 * reuses one or two sockets), a deadline on every request, and a cap on what a peer may send back.
 */
export class HttpPeerClient implements PeerClient {
  private readonly dispatcher: UndiciAgentType;

  private readonly auth: PeerAuth | undefined;

  constructor(init: { connectionsPerPeer?: number; localAddress?: string; auth?: PeerAuth } = {}) {
    this.auth = init.auth;
    this.dispatcher = new UndiciAgent({
      connections: init.connectionsPerPeer ?? 2, // catch-ups to one peer are coalesced: two sockets suffice
      pipelining: 1,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 30_000,
      connectTimeout: 2_000,
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
      ...(init.localAddress ? { localAddress: init.localAddress } : {}),
    });
  }

  async changes(peer: Endpoint, req: ChangesRequest, timeoutMs: number): Promise<Changes | undefined> {
    const query = new URLSearchParams({ origin: req.origin, since: String(req.since), incarnation: String(req.incarnation) });
    const body = await this.get(peer, `${PEER_PATHS.changes}?${query}`, timeoutMs, true);
    return body === undefined ? undefined : checkChanges(body, req.origin);
  }

  async hello(peer: Endpoint, timeoutMs: number, withPeers = false): Promise<Hello> {
    return checkHello(await this.get(peer, withPeers ? `${PEER_PATHS.hello}?peers=1` : PEER_PATHS.hello, timeoutMs, false));
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async get(peer: Endpoint, path: string, timeoutMs: number, allow404: boolean): Promise<unknown> {
    const origin = `http://${peer.address.includes(':') ? `[${peer.address}]` : peer.address}:${peer.port}`;
    const url = origin + path;
    const headers: Record<string, string> = { accept: 'application/json' };
    const signed = this.auth?.signRequest('GET', path);
    if (signed) headers[AUTH_HEADER] = signed.header;
    let res;
    try {
      res = await undiciRequest.call(this.dispatcher, { origin, path, method: 'GET', signal: AbortSignal.timeout(timeoutMs), headers });
    } catch (err) {
      throw classify(err, url);
    }
    try {
      if (res.statusCode === 404 && allow404) {
        await res.body.dump();
        return undefined;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new PeerRequestError('status', `${url} answered ${res.statusCode}`);
      }
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > MAX_PEER_RESPONSE_BYTES) {
        res.body.destroy();
        throw new PeerRequestError('too-large', `${url} announced ${declared} bytes, more than ${MAX_PEER_RESPONSE_BYTES}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_PEER_RESPONSE_BYTES) {
          res.body.destroy();
          throw new PeerRequestError('too-large', `${url} sent more than ${MAX_PEER_RESPONSE_BYTES} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      const body = Buffer.concat(chunks);
      if (this.auth && signed) {
        const header = res.headers[AUTH_HEADER];
        const check = this.auth.verifyResponse(Array.isArray(header) ? header[0] : header, signed.signature, body);
        if (!check.ok) throw new PeerRequestError('unauthenticated', `${url} answered without a valid signature (${check.reason})`);
      }
      try {
        return JSON.parse(body.toString('utf8'));
      } catch {
        throw new PeerRequestError('malformed', `${url} did not answer JSON`);
      }
    } catch (err) {
      throw err instanceof PeerRequestError ? err : classify(err, url);
    }
  }
}

function classify(err: unknown, url: string): PeerRequestError {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new PeerRequestError('timeout', `${url} timed out`, { cause: err });
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') {
    return new PeerRequestError('refused', `${url}: ${e.code}`, { cause: err });
  }
  return new PeerRequestError('network', `${url}: ${e.message ?? String(err)}`, { cause: err });
}
