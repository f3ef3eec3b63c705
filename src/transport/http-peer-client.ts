import { Agent, request, type IncomingMessage } from 'node:http';
import type { Changes } from '../directory/directory.js';
import type { SetsPage } from '../directory/sets-page.js';
import { AUTH_HEADER, type PeerAuth } from '../security/peer-auth.js';
import { Deadline, type DeadlineMs } from './request-deadline.js';
import {
  checkChanges,
  checkHello,
  checkHolders,
  checkSets,
  MAX_PEER_RESPONSE_BYTES,
  PEER_PATHS,
  SHED_STATUS,
} from '../sync/peer-protocol.js';
import {
  changesQuery,
  helloQuery,
  setsQuery,
  PeerRequestError,
  type Asker,
  type ChangesRequest,
  type Endpoint,
  type Hello,
  type PeerClient,
} from './transport.js';

export { PeerRequestError };

/**
 * Once a fresh connection to a peer is established, its catch-up answer may take this many times the
 * request's deadline. The peer's kernel took the connection into its accept queue, and Node (libuv >= 1.45)
 * accepts one connection per listener per event-loop turn: behind 64 queued connections in a loop turning
 * every 50-125 ms (the bench runs 50 agents in one), the answer comes 3-8 s later. A 2 s deadline gave up on
 * it there, the peer still served it, and the retry queued again: 65 % of the requests a 200-agent cold start
 * served arrived over 2 s after they were made (docs/protocol.md, "Catch-up deadlines"). A host that is
 * gone never completes the handshake, and is still given up on after the deadline.
 */
export const ACCEPT_QUEUE_ALLOWANCE = 4;

/**
 * Catch-up over HTTP: pooled keep-alive connections (a burst of catch-ups to one peer reuses one or two
 * sockets), a deadline on every request, and a cap on what a peer may send back.
 *
 * Built on node:http rather than undici, for memory: the agent already runs an HTTP server, so Node's
 * native HTTP parser is loaded anyway, while undici parses with a WebAssembly build of llhttp. In an
 * agent holding 5,000 devices undici's client kept about 9 MiB more resident (its module graph and the
 * compiled WebAssembly; compiling it alone peaks at 35 MB), a sixth of the agent's budget on a small host.
 * The client's needs are plain: a few GET requests a minute to peers on the same LAN.
 */
export class HttpPeerClient implements PeerClient {
  private readonly agent: Agent;
  private readonly auth: PeerAuth | undefined;
  private readonly localAddress: string | undefined;

  constructor(init: { connectionsPerPeer?: number; localAddress?: string; auth?: PeerAuth } = {}) {
    this.auth = init.auth;
    this.localAddress = init.localAddress;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: init.connectionsPerPeer ?? 2, // catch-ups to one peer are coalesced: two sockets suffice
      maxFreeSockets: init.connectionsPerPeer ?? 2,
      // An idle socket is closed by this side after 2 s, before the peer's server does (4 s, see
      // PEER_BOUNDS), so a request never goes out on a socket that the peer is closing.
      timeout: 2_000,
      scheduling: 'lifo',
    });
  }

  async changes(peer: Endpoint, req: ChangesRequest, timeoutMs: number): Promise<Changes | undefined> {
    const path = `${PEER_PATHS.changes}?${changesQuery(req).toString()}`;
    // A later page follows this peer's answer of a moment ago (on the pooled connection, normally): one deadline.
    // Each page given the allowance, a member closing every connection held a fetch slot 64 x 8 s (attack10).
    const answerMs = req.after === undefined ? timeoutMs * ACCEPT_QUEUE_ALLOWANCE : timeoutMs;
    const body = await this.get(peer, path, { reachMs: timeoutMs, answerMs }, true);
    return body === undefined ? undefined : checkChanges(body, req.origin);
  }

  async sets(peer: Endpoint, after: string | undefined, timeoutMs: number): Promise<SetsPage> {
    const query = setsQuery(after);
    // As a catch-up's: the allowance on a first page only (attack10's paged hold).
    const answerMs = after === undefined ? timeoutMs * ACCEPT_QUEUE_ALLOWANCE : timeoutMs;
    return checkSets(
      await this.get(peer, `${PEER_PATHS.changes}?${query.toString()}`, { reachMs: timeoutMs, answerMs }, false),
      after,
    );
  }

  async hello(peer: Endpoint, timeoutMs: number, withPeers = false, asker?: Asker): Promise<Hello> {
    const query = helloQuery(withPeers, asker).toString();
    return checkHello(
      // A probe keeps one deadline: its timeout is liveness evidence (a hung process is one to find).
      await this.get(
        peer,
        query ? `${PEER_PATHS.hello}?${query}` : PEER_PATHS.hello,
        { reachMs: timeoutMs, answerMs: timeoutMs },
        false,
      ),
    );
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }

  private open(
    peer: Endpoint,
    path: string,
    headers: Record<string, string>,
    deadline: Deadline,
    fresh: boolean,
  ): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({
        agent: fresh ? false : this.agent,
        host: peer.address,
        port: peer.port,
        path,
        method: 'GET',
        headers,
        signal: deadline.signal,
        ...(this.localAddress ? { localAddress: this.localAddress } : {}),
      });
      // A fresh connection established: the peer's kernel holds it, the answer has the longer deadline.
      req.once('socket', (socket) => {
        if (socket.connecting) socket.once('connect', () => deadline.connected());
      });
      req.once('response', (res) => {
        deadline.answering();
        resolve(res);
      });
      req.once('error', (err: NodeJS.ErrnoException) =>
        reject(!fresh && req.reusedSocket && err.code === 'ECONNRESET' ? new ReusedSocketReset(err) : err),
      );
      req.end();
    });
  }

  private async get(peer: Endpoint, path: string, limits: DeadlineMs, allow404: boolean): Promise<unknown> {
    const deadline = new Deadline(limits);
    try {
      return await this.exchange(peer, path, deadline, allow404);
    } catch (err) {
      // The deadline that fired, when it was longer than the one given: the caller's lag judgement needs it.
      if (!(err instanceof PeerRequestError) || err.reason !== 'timeout' || deadline.ranMs <= limits.reachMs) throw err;
      throw new PeerRequestError('timeout', err.message, { cause: err.cause, ranMs: deadline.ranMs });
    } finally {
      deadline.clear();
    }
  }

  private async exchange(peer: Endpoint, path: string, deadline: Deadline, allow404: boolean): Promise<unknown> {
    const url = `http://${peer.address.includes(':') ? `[${peer.address}]` : peer.address}:${peer.port}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    const signed = this.auth?.signRequest('GET', path);
    if (signed) headers[AUTH_HEADER] = signed.header;
    const signal = deadline.signal;
    let res: IncomingMessage;
    try {
      res = await this.open(peer, path, headers, deadline, false).catch((err: unknown) => {
        // A pooled connection the peer closed while idle (it restarted, or stopped its server) resets; a
        // fresh one tells whether anything listens now (Node's documented retry for reused sockets).
        if (!(err instanceof ReusedSocketReset)) throw err;
        return this.open(peer, path, headers, deadline, true);
      });
    } catch (err) {
      throw classify(err instanceof ReusedSocketReset ? err.cause : err, url);
    }
    try {
      if (res.statusCode === 404 && allow404) {
        res.resume();
        return undefined;
      }
      // A shed catch-up's problem is read as an answer is (signed on a keyed site): it names holders to ask.
      const shed = res.statusCode === SHED_STATUS;
      if (res.statusCode !== 200 && !shed) {
        res.resume();
        throw new PeerRequestError('status', `${url} answered ${res.statusCode}`);
      }
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > MAX_PEER_RESPONSE_BYTES) {
        res.destroy();
        throw new PeerRequestError(
          'too-large',
          `${url} announced ${declared} bytes, more than ${MAX_PEER_RESPONSE_BYTES}`,
        );
      }
      const body = await readBody(res, url);
      if (this.auth && signed) {
        const header = res.headers[AUTH_HEADER];
        const check = this.auth.verifyResponse(Array.isArray(header) ? header[0] : header, signed.signature, body);
        if (!check.ok)
          throw new PeerRequestError('unauthenticated', `${url} answered without a valid signature (${check.reason})`);
      }
      let answer: unknown;
      try {
        answer = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new PeerRequestError('malformed', `${url} did not answer JSON`, { cause: err });
      }
      if (!shed) return answer;
      throw new PeerRequestError('shed', `${url} shed the request`, { holders: checkHolders(answer) });
    } catch (err) {
      if (!res.complete) res.destroy();
      throw err instanceof PeerRequestError ? err : classify(signal.aborted ? signal.reason : err, url);
    }
  }
}

/** A request on a pooled keep-alive connection was reset: asked again on a fresh one before judging. */
class ReusedSocketReset extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

/** The whole answer body, within the cap; an answer cut short is an error, not a shorter body. */
async function readBody(res: IncomingMessage, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > MAX_PEER_RESPONSE_BYTES) {
      res.destroy();
      throw new PeerRequestError('too-large', `${url} sent more than ${MAX_PEER_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  // An answer cut short (the peer crashed mid-body) ends the loop without an error on some paths.
  if (!res.complete) throw new PeerRequestError('network', `${url}: connection closed before the answer was complete`);
  return Buffer.concat(chunks);
}

function classify(err: unknown, url: string): PeerRequestError {
  const e = err as { name?: string; code?: string; message?: string; cause?: { name?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'ABORT_ERR' || e.code === 'ETIMEDOUT') {
    return new PeerRequestError('timeout', `${url} timed out`, { cause: err });
  }
  // Not ECONNRESET: a connection accepted, then reset or closed, shows that something listens. The peer port
  // closes connections past its caps at once, so holding its slots made every probe of a live agent a refusal
  // (lost at once, and with a key a notice believed everywhere).
  if (e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') {
    return new PeerRequestError('refused', `${url}: ${e.code}`, { cause: err });
  }
  return new PeerRequestError('network', `${url}: ${e.message ?? String(err)}`, { cause: err });
}
