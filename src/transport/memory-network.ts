import {
  checkChanges,
  checkHello,
  checkHolders,
  checkSets,
  MAX_PEER_RESPONSE_BYTES,
  SHED_STATUS,
} from '../sync/peer-protocol.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { OncePerAnswer } from '../util/once-per-answer.js';
import type {
  ChangesRequest,
  DatagramHandler,
  DatagramKind,
  DatagramTransport,
  Endpoint,
  PeerClient,
  PeerService,
} from './transport.js';
import { changesQuery, helloQuery, PeerRequestError, setsQuery } from './transport.js';
import type { LinkFaults, NetworkEvent, RpcFault } from './network-faults.js';
import { SharedAnswers } from './shared-answers.js';

export interface MemoryNetworkInit {
  /** Share of datagrams each receiver loses, independently. */
  loss?: number;
  /** Share of datagrams delivered twice. */
  duplicate?: number;
  /** Datagram delay is uniform in [latency, latency + reorderWindow]: a window reorders. */
  latencyMs?: number;
  reorderWindowMs?: number;
  /** Round trip of a peer request. */
  rpcLatencyMs?: number;
  /**
   * Decode each distinct catch-up answer once and hand every asker the same frozen copy (a simulator
   * economy for large sites: 1,000 agents make about a million catch-ups of a thousand distinct answers).
   * The agents see what they would see otherwise; one that changed an answer would throw.
   */
  shareAnswers?: boolean;
}

export type { LinkFaults, NetworkEvent, RpcFault } from './network-faults.js';

/**
 * A LAN in memory, on a fake clock: the protocol runs fast and repeatably under loss, duplication,
 * reordering, partitions and crashes. Peer requests go through JSON as they would over HTTP, and are
 * checked by the same code, so a field that would not survive the wire fails here too.
 */
export class MemoryNetwork {
  private readonly sockets = new Map<string, DatagramHandler>();
  private readonly services = new Map<string, PeerService>();
  private readonly down = new Set<string>();
  /** Addresses a running host left (moves.ts): no host answers there, so a request times out, not refused. */
  readonly vacant = new Set<string>();
  private groups: string[][] | undefined;
  /** Directed cuts `from>to`: a one-way partition drops what `from` sends to `to`, requests included. */
  private readonly cuts = new Set<string>();
  /** Per-receiver datagram faults, over the network's defaults. */
  readonly links = new Map<string, LinkFaults>();
  /** Decides the fate of each peer request (the swarm draws it from its schedule); undefined: none. */
  rpcFaults: ((from: string, to: string, route: 'changes' | 'hello') => RpcFault | undefined) | undefined;
  /** Catch-up answers decoded once and shared (with `shareAnswers`). */
  private readonly answers: SharedAnswers | undefined;
  /** Each answer's JSON, kept only as long as the answer object itself. */
  private readonly json = new OncePerAnswer((body) => JSON.stringify(body));
  /** Drops a datagram when it is sent (true): a loss decided then, whatever happens to the link later. */
  dropAtSend: ((from: string, to: string, kind: DatagramKind) => boolean) | undefined;
  /** Sees what the network does with every datagram and request. */
  onEvent: ((e: NetworkEvent) => void) | undefined;
  loss: number;
  /** Sees every datagram sent (a LAN attacker's capture, in tests). */
  onSend: ((from: string, data: Uint8Array) => void) | undefined;
  sent = 0;
  delivered = 0;
  rpcs = 0;

  constructor(
    private readonly c: { clock: Clock; random: Random },
    private readonly init: MemoryNetworkInit = {},
  ) {
    this.loss = init.loss ?? 0;
    if (init.shareAnswers) this.answers = new SharedAnswers();
  }

  datagramTransport(address: string): DatagramTransport {
    return {
      start: (onMessage) => {
        this.sockets.set(address, onMessage);
        return Promise.resolve({ address, port: 7770 }); // what every datagram comes from (deliver)
      },
      send: (data) => this.broadcast(address, Uint8Array.from(data)),
      sendTo: (data, to) => {
        // As Node's dgram does (ERR_SOCKET_BAD_PORT): a send to port 0 throws, and the simulator must not hide it.
        if (!(to.port > 0 && to.port < 65536)) throw new RangeError(`Port should be > 0 and < 65536: ${to.port}`);
        this.unicast(address, to.address, Uint8Array.from(data));
      },
      stop: () => {
        this.sockets.delete(address);
        return Promise.resolve();
      },
    };
  }

  servePeer(endpoint: Endpoint, service: PeerService): () => void {
    const key = `${endpoint.address}:${endpoint.port}`;
    this.services.set(key, service);
    return () => this.services.delete(key);
  }

  peerClient(address: string): PeerClient {
    return {
      changes: async (peer, req: ChangesRequest, timeoutMs) => {
        const res = await this.rpc(address, peer, 'changes', changesQuery(req), timeoutMs);
        if (res.status === 404) return undefined;
        if (res.status === SHED_STATUS) {
          const holders = checkHolders(JSON.parse(res.json));
          throw new PeerRequestError('shed', `peer answered ${res.status}`, { holders });
        }
        if (res.status !== 200) throw new PeerRequestError('status', `peer answered ${res.status}`);
        return this.answers
          ? this.answers.decode(res.json, req.origin)
          : checkChanges(JSON.parse(res.json), req.origin);
      },
      sets: async (peer, after, timeoutMs) => {
        const res = await this.rpc(address, peer, 'changes', setsQuery(after), timeoutMs);
        if (res.status !== 200) throw new PeerRequestError('status', `peer answered ${res.status}`);
        return checkSets(JSON.parse(res.json), after);
      },
      hello: async (peer, timeoutMs, withPeers, asker) => {
        const res = await this.rpc(address, peer, 'hello', helloQuery(withPeers ?? false, asker), timeoutMs);
        if (res.status !== 200) throw new PeerRequestError('status', `peer answered ${res.status}`);
        return checkHello(JSON.parse(res.json));
      },
      close: async () => {},
    };
  }

  /** Crashes (true) or revives (false) a host: it neither sends, receives nor answers. */
  setDown(address: string, isDown: boolean): void {
    if (isDown) this.down.add(address);
    else this.down.delete(address);
  }

  /** Splits the LAN: hosts talk only within their group. */
  partition(groups: string[][]): void {
    this.groups = groups;
  }

  heal(): void {
    this.groups = undefined;
    this.cuts.clear();
  }

  /** Cuts (or restores) what `from` sends to `to`, one way only. */
  cut(from: string, to: string, isCut: boolean): void {
    if (isCut) this.cuts.add(`${from}>${to}`);
    else this.cuts.delete(`${from}>${to}`);
  }

  /** Whether what `from` sends now reaches `to` (other simulated traffic, such as mDNS, obeys it too). */
  reaches = (from: string, to: string): boolean => this.reachable(from, to);

  private reachable(a: string, b: string): boolean {
    if (this.down.has(a) || this.down.has(b) || this.cuts.has(`${a}>${b}`)) return false;
    if (!this.groups) return true;
    return this.groups.some((g) => g.includes(a) && g.includes(b));
  }

  /** A request and its answer both cross the LAN: it needs both directions. */
  private connected = (a: string, b: string) => this.reachable(a, b) && this.reachable(b, a);

  /** Puts raw bytes on the LAN as if `from` sent them: forged, replayed or junk datagrams in tests. */
  inject(from: string, data: Uint8Array, port = 7770): void {
    this.broadcast(from, data, port);
  }

  /** Puts raw bytes on the LAN to one host, as if `from` sent them: a unicast flood or forgery in tests. */
  injectTo(from: string, to: string, data: Uint8Array, port = 7770): void {
    this.unicast(from, to, data, port);
  }

  private broadcast(from: string, data: Uint8Array, port = 7770): void {
    if (this.down.has(from)) return;
    this.sent += 1;
    this.onSend?.(from, data);
    for (const [to, handler] of this.sockets) this.deliver({ address: from, port }, to, handler, data, 'multicast');
  }

  /** One receiver, with the same loss, duplication, latency and partitions as a multicast datagram. */
  private unicast(from: string, to: string, data: Uint8Array, port = 7770): void {
    if (this.down.has(from)) return;
    this.sent += 1;
    this.onSend?.(from, data);
    const handler = this.sockets.get(to);
    if (handler) this.deliver({ address: from, port }, to, handler, data, 'unicast');
  }

  private deliver(source: Endpoint, to: string, handler: DatagramHandler, data: Uint8Array, kind: DatagramKind): void {
    const [from, link] = [source.address, this.links.get(to)];
    if (!this.reachable(from, to)) return this.traceDatagram(from, to, data, kind, 'cut');
    if (to !== from && (this.dropAtSend?.(from, to, kind) || this.c.random() < (link?.loss ?? this.loss)))
      return this.traceDatagram(from, to, data, kind, 'lost');
    const copies = this.c.random() < (link?.duplicate ?? this.init.duplicate ?? 0) ? 2 : 1;
    const window = link?.reorderWindowMs ?? this.init.reorderWindowMs ?? 0;
    if (to !== from) this.traceDatagram(from, to, data, kind, copies === 2 ? 'duplicated' : 'delivered');
    for (let i = 0; i < copies; i++) {
      const delay = (this.init.latencyMs ?? 0.2) + this.c.random() * window;
      this.c.clock.setTimeout(() => {
        if (this.sockets.get(to) !== handler || !this.reachable(from, to)) return;
        this.delivered += 1;
        handler(data, { ...source }, kind);
      }, delay);
    }
  }

  /** Made only when someone listens: a site of 1,000 agents hands each multicast to 1,000 sockets. */
  private traceDatagram(
    from: string,
    to: string,
    data: Uint8Array,
    kind: DatagramKind,
    fate: 'delivered' | 'lost' | 'duplicated' | 'cut',
  ): void {
    if (this.onEvent)
      this.onEvent({ type: 'datagram', from, to, bytes: data.length, ...(kind === 'unicast' ? { kind } : {}), fate });
  }

  /**
   * An answer as it would cross the wire: JSON, made once per answer object. A cost meter wrapped around
   * the service measures the same object first (see CostMeter), so one serialisation serves both, and the
   * caller's copy is parsed from it: a site of 1,000 agents makes about a million catch-ups.
   */
  answerJson(body: unknown): string {
    return this.json.of(body);
  }

  private rpc(
    from: string,
    peer: Endpoint,
    route: 'changes' | 'hello',
    q: URLSearchParams,
    timeoutMs: number,
  ): Promise<{ status: number; json: string }> {
    this.rpcs += 1;
    const latency = this.init.rpcLatencyMs ?? 1;
    const to = peer.address;
    const trace = (outcome: string) =>
      this.onEvent?.({ type: 'rpc', from, to: `${to}:${peer.port}`, route, query: q.toString(), outcome });
    return new Promise((resolve, reject) => {
      const fail = (reason: 'refused' | 'timeout' | 'too-large' | 'network', after: number, detail: string) => {
        this.c.clock.setTimeout(() => {
          trace(reason);
          reject(new PeerRequestError(reason, `${to}:${peer.port} ${detail}`));
        }, after);
      };
      const service = this.services.get(`${to}:${peer.port}`);
      if (!service || !this.connected(from, to)) {
        // Crashed or cut off: a partition (or an address no host holds) is a timeout, a dead process a refusal.
        const refused = (!service || this.down.has(to)) && !this.vacant.has(to);
        return refused ? fail('refused', latency, 'connection refused') : fail('timeout', timeoutMs, 'timed out');
      }
      const fault = this.rpcFaults?.(from, to, route);
      if (fault?.kind === 'fail') return fail('network', latency, 'connection reset');
      if (fault?.kind === 'hang') return fail('timeout', timeoutMs, 'timed out');
      // Answered when read (a stalled target's at its turn, acted on even if too late); a late answer travels slow.
      const read = (held: number) => {
        const told = held > 0 && latency + held >= timeoutMs; // its caller timed out meanwhile, at its deadline
        const left = Math.max(0, timeoutMs - latency - held);
        if (!this.connected(from, to)) return told || fail('timeout', left, 'timed out');
        if (held > 0 && this.services.get(`${to}:${peer.port}`) !== service) return told || fail('network', 0, 'reset');
        let answer: { status: number; body: unknown };
        try {
          answer = service.handle(route, q, { address: from, port: 0 });
        } catch (err) {
          return told || reject(err instanceof Error ? err : new Error(String(err)));
        }
        if (told) return;
        const json = this.answerJson(answer.body);
        if (Buffer.byteLength(json) > MAX_PEER_RESPONSE_BYTES)
          return fail('too-large', 0, `sent more than ${MAX_PEER_RESPONSE_BYTES} bytes`);
        const back = fault?.kind === 'late' ? fault.delayMs : 0;
        if (latency + held + back >= timeoutMs) return fail('timeout', left, 'timed out');
        this.c.clock.setTimeout(() => {
          trace(`${answer.status}${held + back > 0 ? ` after ${Math.round(held + back)} ms` : ''}`);
          resolve({ status: answer.status, json });
        }, back);
      };
      this.c.clock.setTimeout(() => {
        const now = this.c.clock.monotonic();
        const held = fault?.kind === 'unread' ? Math.max(0, fault.readAt(now) - now) : 0;
        if (held === 0) return read(0);
        if (latency + held >= timeoutMs) fail('timeout', timeoutMs - latency, 'timed out');
        this.c.clock.setTimeout(() => read(held), held);
      }, latency);
    });
  }
}
