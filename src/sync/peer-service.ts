import type { Directory } from '../directory/directory.js';
import { FORMAT_VERSION } from '../protocol/codec.js';
import { DEVICE_ID_PATTERN } from '../profiles/model.js';
import type { Asker, Endpoint, Hello, Holder, PeerService } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import { OthersSets, OTHERS_SETS } from './others-sets.js';
import { SHED_STATUS } from './peer-protocol.js';
import { viewDigest } from './view-digest.js';

/**
 * What this agent answers on its peer endpoint. It serves the changes of any origin it holds, not only
 * its own, so that a peer can catch up from whoever is up to date when the origin is slow or gone.
 */
export class DirectoryPeerService implements PeerService {
  /** Catch-ups of other origins' sets served (others-sets.ts); none shed without a clock (a bare service in tests). */
  private readonly others: OthersSets | undefined;

  constructor(
    private readonly c: {
      directory: Directory;
      clock?: Clock;
      /** What the hello asked beside a summary: the datagram port (endpoint-proofs.ts), the view's digest. */
      identity: (withPeers: boolean, asked?: HelloExtras) => Hello;
      onServed?: (route: string, status: number) => void;
      /** A hello named its asker: an agent at the request's source address and that port. */
      onAsked?: (asker: Asker & { address: string }) => void;
    },
  ) {
    this.others = c.clock && new OthersSets(c.clock);
  }

  handle(route: 'changes' | 'hello', query: URLSearchParams, from: Endpoint): { status: number; body: unknown } {
    const repeated = repeatedKey(query);
    // Which one was meant is the client's to say: the first was taken silently (attack14, test peer-hostile-query).
    if (repeated !== undefined) {
      this.c.onServed?.(route, 400);
      return problem(400, `query parameter '${repeated.slice(0, 64)}' given more than once`);
    }
    if (route === 'hello') this.asked(query, from);
    const answer =
      route === 'hello'
        ? { status: 200, body: this.c.identity(query.get('peers') === '1', extrasOf(query)) }
        : this.changes(query, from);
    this.c.onServed?.(route, answer.status);
    return answer;
  }

  /** An asker that does not name itself properly is simply not passed on: the hello is answered anyway. */
  private asked(q: URLSearchParams, from: Endpoint): void {
    const name = q.get('from');
    const incarnation = wholeNumber(q.get('incarnation') ?? '');
    const port = wholeNumber(q.get('port') ?? '');
    if (name === null || !DEVICE_ID_PATTERN.test(name) || !Number.isSafeInteger(incarnation) || incarnation < 1) return;
    if (!Number.isInteger(port) || port < 1 || port > 65535) return;
    const asker: Asker & { address: string } = { name, incarnation, port, address: from.address };
    const [check, gone] = [q.get('check'), q.get('gone')];
    if (check !== null && DEVICE_ID_PATTERN.test(check)) asker.check = check;
    else if (gone !== null && DEVICE_ID_PATTERN.test(gone)) asker.gone = gone;
    const lost = wholeNumber(q.get('lost') ?? '');
    if (Number.isSafeInteger(lost) && lost >= 1) asker.lost = lost;
    this.c.onAsked?.(asker);
  }

  private changes(q: URLSearchParams, from: Endpoint): { status: number; body: unknown } {
    if (q.has('sets')) return this.sets(q);
    const origin = q.get('origin') ?? this.c.identity(false).name;
    const since = wholeNumber(q.get('since') ?? '0');
    const incarnation = wholeNumber(q.get('incarnation') ?? '0');
    if (!DEVICE_ID_PATTERN.test(origin))
      return problem(400, `origin '${origin.slice(0, 64)}' is not a valid agent name`);
    if (!Number.isSafeInteger(since) || since < 0) return problem(400, 'since must be a whole number');
    if (!Number.isSafeInteger(incarnation) || incarnation < 0)
      return problem(400, 'incarnation must be a whole number');
    const after = q.get('after') ?? undefined;
    if (after !== undefined && !DEVICE_ID_PATTERN.test(after)) return problem(400, 'after must be a device id');
    const changes = this.c.directory.changesSince(origin, incarnation, since, after);
    if (!changes) return problem(404, `this agent holds nothing of '${origin}'`);
    // Never shed: its own set, or a paged snapshot's later page (a first one was served: shed, the fetch is wasted).
    if (after !== undefined || origin === this.c.identity(false).name) return { status: 200, body: changes };
    const port = wholeNumber(q.get('port') ?? '');
    // The connection's address, as an IPv4 peer names itself (a dual-stack socket reports it IPv4-mapped).
    const address = from.address.startsWith('::ffff:') ? from.address.slice(7) : from.address;
    // Kept as a holder only at an agent's endpoint this member knows: one host asking with 8 ports took every slot
    // and each shed named it alone (attacks/shed-holders-forged); a shed asker keeps only peers' endpoints anyway.
    const known = port >= 1 && port <= 65535 && this.c.directory.hasAgentAt(address, port);
    const asker = known ? { address, port } : undefined;
    const holders = this.others?.serve(origin, changes.version, asker);
    return holders ? shed(holders) : { status: 200, body: changes };
  }

  /** A page of a bulk catch-up: every alive origin's whole set after `after` (docs/protocol.md, *Bulk catch-up*). */
  private sets(q: URLSearchParams): { status: number; body: unknown } {
    // Anything else was answered as the catch-up of this agent's own set (`sets=2`), or its origin's ignored.
    if (q.get('sets') !== '1') return problem(400, 'sets must be 1');
    const other = ['origin', 'since', 'incarnation'].find((key) => q.has(key));
    if (other !== undefined) return problem(400, `sets=1 takes no '${other}': it answers every origin's set`);
    const after = q.get('after') ?? undefined;
    if (after !== undefined && !DEVICE_ID_PATTERN.test(after)) return problem(400, 'after must be an agent name');
    return { status: 200, body: this.c.directory.setsPage(after) };
  }
}

/**
 * A shed catch-up (SHED_STATUS): answered at once, no set, naming the holders to ask instead (others-sets.ts); the
 * asker asks one of them at once, or the next member that hinted the version (catchup.ts). An agent from before
 * reads it as any failed request of an alternate (`status`, the body unread): that member ranks last for the rest of
 * its run of failures, and it asks the origin after its backoff, then its other alternates, as after a timeout.
 */
function shed(holders: Holder[]): { status: number; body: unknown } {
  const detail = `this agent serves others' sets ${OTHERS_SETS.perSecond} a second: ask a holder, or the origin`;
  return { status: SHED_STATUS, body: { type: 'about:blank', title: 'Shed', status: SHED_STATUS, detail, holders } };
}

/**
 * A whole number as written: digits only. Number() read '' as 0 (a snapshot for `since=`) and took '1e3', '0x10',
 * '+5' and '5.0': guesses at what a client meant. NaN otherwise, which every caller refuses.
 */
function wholeNumber(text: string): number {
  return /^\d{1,16}$/.test(text) ? Number(text) : NaN;
}

function repeatedKey(query: URLSearchParams): string | undefined {
  const seen = new Set<string>();
  for (const key of query.keys()) {
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return undefined;
}

function problem(status: number, detail: string): { status: number; body: unknown } {
  return { status, body: { type: 'about:blank', title: status === 404 ? 'Not found' : 'Bad request', status, detail } };
}

/** What a hello may ask beside the summary: the datagram port (endpoint-proofs.ts), the view's digest (rejoin.ts). */
export interface HelloExtras {
  datagram?: boolean;
  digest?: boolean;
  set?: boolean;
  /** An agent's summary entry only (Asker.where): a lighter answer than the whole summary. */
  where?: string;
}

function extrasOf(query: URLSearchParams): HelloExtras {
  const where = query.get('where');
  return {
    datagram: query.get('datagram') === '1',
    digest: query.get('digest') === '1',
    set: query.get('set') === '1',
    ...(where !== null && DEVICE_ID_PATTERN.test(where) ? { where } : {}),
  };
}

export function helloOf(
  { name, site, incarnation }: { name: string; site: string; incarnation: number },
  version: () => number,
  directory?: Directory,
  /** The port this agent's datagrams leave from (its transport's, once started); undefined without one. */
  datagramPort?: () => number | undefined,
): (withPeers: boolean, asked?: HelloExtras) => Hello {
  return (withPeers, asked = {}) => {
    const hello: Hello = { name, site, incarnation, version: version(), format: FORMAT_VERSION };
    const port = asked.datagram ? datagramPort?.() : undefined;
    if (port !== undefined) hello.datagramPort = port;
    if (directory && asked.digest) hello.digest = viewDigest(directory);
    if (directory && asked.set) hello.setDigest = directory.setDigest(name);
    if (directory && (withPeers || asked.where !== undefined)) {
      const agents = withPeers ? directory.agents() : [directory.agent(asked.where ?? '') ?? []].flat();
      hello.peers = agents.flatMap((a) =>
        a.state === 'alive' && !a.local && a.version > 0 && a.address && a.peerPort
          ? [{ name: a.name, incarnation: a.incarnation, version: a.version, address: a.address, port: a.peerPort }]
          : [],
      );
    }
    return hello;
  };
}
