import type { Changes } from '../directory/directory.js';
import type { SetsPage } from '../directory/sets-page.js';

export interface Endpoint {
  address: string;
  port: number;
}

/** How a datagram reached this agent: to the site's group, or to this agent's own endpoint alone. */
export type DatagramKind = 'multicast' | 'unicast';

/**
 * `from` is the sender's datagram endpoint: every datagram an agent sends, multicast or unicast, leaves
 * from it, so `sendTo(from)` reaches that agent (and only it, even with several agents on one host).
 */
export type DatagramHandler = (data: Uint8Array, from: Endpoint, kind: DatagramKind) => void;

/** What a started datagram transport says of itself. */
export interface DatagramStarted {
  address: string;
  port?: number;
}

/**
 * The packet transport: one-to-all on the site's LAN, and one-to-one to an agent's datagram endpoint.
 * It is assumed to be best-effort: a datagram may be lost, duplicated or reordered, and nothing here
 * retries. The protocol above makes up for it. A sender also receives its own multicast datagrams on
 * some networks; the protocol ignores them.
 */
export interface DatagramTransport {
  /**
   * Binds and joins; resolves with the address peers see as this agent's source and, where the transport
   * knows it, the port of its datagram endpoint (what a hello names when asked: endpoint-proofs.ts).
   */
  start(onMessage: DatagramHandler): Promise<DatagramStarted>;
  /** To every agent of the site (the group). */
  send(data: Uint8Array): void;
  /** To one agent: the `from` of a datagram it sent. */
  sendTo(data: Uint8Array, to: Endpoint): void;
  stop(): Promise<void>;
}

export interface ChangesRequest {
  origin: string;
  since: number;
  incarnation: number;
  /** A paged snapshot continues after this device id (the `next` of the page before). */
  after?: string;
  /** The asker's peer port, asking a member for another origin's set: once served, it may be named as a holder. */
  port?: number;
}

/** The query of a catch-up request (both peer clients). */
export function changesQuery(req: ChangesRequest): URLSearchParams {
  const q = new URLSearchParams({ origin: req.origin, since: String(req.since), incarnation: String(req.incarnation) });
  if (req.after !== undefined) q.set('after', req.after);
  if (req.port !== undefined) q.set('port', String(req.port));
  return q;
}

/** A member that holds an origin's set at `version`: named by a member that shed a catch-up of it. */
export interface Holder extends Endpoint {
  version: number;
}

/**
 * Why a peer request failed: the caller decides on this, never on a message's text. `shed`: a member asked another
 * origin's set serves no more of them just now (SHED_STATUS, peer-service.ts).
 */
export type PeerFailure =
  'timeout' | 'refused' | 'status' | 'shed' | 'too-large' | 'malformed' | 'network' | 'unauthenticated';

/** What every PeerClient rejects with. `refused` means nothing listens there: the process is gone. */
export class PeerRequestError extends Error {
  /**
   * A timeout: how long after the request began the deadline that fired was due, when the client ran a longer
   * one than it was given (a catch-up on a fresh connection, ACCEPT_QUEUE_ALLOWANCE). A caller that judges its
   * own loop's lateness by when the timeout came must judge it against this, not against the deadline it gave.
   */
  readonly ranMs: number | undefined;
  /** `shed`: the members its answer named as holding the set asked (at most HOLDERS_NAMED). */
  readonly holders: Holder[];

  constructor(
    readonly reason: PeerFailure,
    message: string,
    options?: { cause?: unknown; ranMs?: number; holders?: Holder[] },
  ) {
    super(message, options);
    this.name = 'PeerRequestError';
    this.ranMs = options?.ranMs;
    this.holders = options?.holders ?? [];
  }
}

export interface Hello {
  name: string;
  site: string;
  incarnation: number;
  version: number;
  format: number;
  /** The alive agents this peer knows, so that a prober learns of agents it never heard itself. */
  peers?: PeerSummary[];
  /**
   * The port its datagrams leave from, at the address that answered: named only when asked (Asker.datagram),
   * so a prober that never heard a datagram of it may send it the ring's rounds (endpoint-proofs.ts).
   */
  datagramPort?: number;
  /** Who it holds alive, as 32 bits (view-digest.ts): named only when asked (Asker.digest; rejoin.ts). */
  digest?: number;
  /** A digest of its own set at `version` (summary.ts directoryDigest): named only when asked (Asker.set). */
  setDigest?: string;
}

/**
 * Who asks, on a hello: the asked agent learns of an asker it never heard (every advert of it lost)
 * and probes it back. Signed with the request when the site has a key.
 */
export interface Asker {
  name: string;
  incarnation: number;
  port: number;
  /** An indirect probe: the asker, a monitor of the named agent, asks this one to probe it (indirect-checks.ts). */
  check?: string;
  /** An indirect probe's verdict: the named agent, which the asker asked about, did not answer its probe. */
  gone?: string;
  /** Asks the answer to name its datagram endpoint's port (Hello.datagramPort; endpoint-proofs.ts). */
  datagram?: boolean;
  /** Asks the answer for the digest of who it holds alive (Hello.digest), before a summary (rejoin.ts). */
  digest?: boolean;
  /** Asks the answer for the digest of its own set (Hello.setDigest): a set held second-hand is checked (bulk-sets). */
  set?: boolean;
  /** Asks where the named agent is: the answer's `peers` holds only its summary entry, if alive (where-asks.ts). */
  where?: string;
  /**
   * The asker holds the asked agent lost in this life: the answering agent refutes it with a multicast heartbeat
   * (at most once a period), as it would a notice, so every viewer that lost it hears it back (lost-rechecks.ts).
   */
  lost?: number;
}

/** The query of a bulk catch-up's page (`GET /v1/peer/changes?sets=1[&after=NAME]`), as both clients send it. */
export function setsQuery(after: string | undefined): URLSearchParams {
  const q = new URLSearchParams({ sets: '1' });
  if (after !== undefined) q.set('after', after);
  return q;
}

/** The query of a hello request. */
export function helloQuery(withPeers: boolean, asker?: Asker): URLSearchParams {
  const q = new URLSearchParams(withPeers ? { peers: '1' } : {});
  if (asker) {
    q.set('from', asker.name);
    q.set('incarnation', String(asker.incarnation));
    q.set('port', String(asker.port));
    if (asker.check !== undefined) q.set('check', asker.check);
    if (asker.gone !== undefined) q.set('gone', asker.gone);
    if (asker.datagram) q.set('datagram', '1');
    if (asker.digest) q.set('digest', '1');
    if (asker.set) q.set('set', '1');
    if (asker.where !== undefined) q.set('where', asker.where);
    if (asker.lost !== undefined) q.set('lost', String(asker.lost));
  }
  return q;
}

export interface PeerSummary {
  name: string;
  incarnation: number;
  version: number;
  address: string;
  port: number;
}

/**
 * The stream transport: one request to one peer. It is assumed to be reliable while the peer is up and
 * reachable; any failure (refused, timed out, malformed answer) rejects with a PeerRequestError, and the
 * caller retries.
 */
export interface PeerClient {
  /** The origin's changes since a version; undefined when the peer holds nothing of that origin. */
  changes(peer: Endpoint, request: ChangesRequest, timeoutMs: number): Promise<Changes | undefined>;
  /** Who answers at this endpoint: a direct liveness probe; with `withPeers`, its summary of others. */
  hello(peer: Endpoint, timeoutMs: number, withPeers?: boolean, asker?: Asker): Promise<Hello>;
  /**
   * A page of every whole set the peer holds, after the origin `after` (a bulk catch-up, sync/bulk-sets.ts).
   * Optional: a client without it (a test's wrapper) catches each origin up on its own, as before.
   */
  sets?(peer: Endpoint, after: string | undefined, timeoutMs: number): Promise<SetsPage>;
  close(): Promise<void>;
}

/** What the peer endpoint answers, apart from how it is carried (HTTP, or in memory in tests). */
export interface PeerService {
  /** An answer's body is never changed once given: transports keep one JSON per body object. */
  handle(route: 'changes' | 'hello', query: URLSearchParams, from: Endpoint): { status: number; body: unknown };
}
