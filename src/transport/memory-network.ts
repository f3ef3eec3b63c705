import { checkChanges, checkHello, MAX_PEER_RESPONSE_BYTES } from '../sync/peer-protocol.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type {
  ChangesRequest,
  DatagramHandler,
  DatagramTransport,
  Endpoint,
  PeerClient,
  PeerService,
} from './transport.js';
import { helloQuery, PeerRequestError } from './transport.js';

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
}

/**
 * A LAN in memory, on a fake clock: the protocol runs fast and repeatably under loss, duplication,
 * reordering, partitions and crashes. Peer requests go through JSON as they would over HTTP, and are
 * checked by the same code, so a field that would not survive the wire fails here too.
 */
export class MemoryNetwork {
  private readonly sockets = new Map<string, DatagramHandler>();
  private readonly services = new Map<string, PeerService>();
  private readonly down = new Set<string>();
  private groups: string[][] | undefined;
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
  }

  datagramTransport(address: string): DatagramTransport {
    return {
      start: (onMessage) => {
        this.sockets.set(address, onMessage);
        return Promise.resolve({ address });
      },
      send: (data) => this.broadcast(address, Uint8Array.from(data)),
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
        const q = new URLSearchParams({
          origin: req.origin,
          since: String(req.since),
          incarnation: String(req.incarnation),
        });
        if (req.after !== undefined) q.set('after', req.after);
        const res = await this.rpc(address, peer, 'changes', q, timeoutMs);
        if (res.status === 404) return undefined;
        if (res.status !== 200) throw new PeerRequestError('status', `peer answered ${res.status}`);
        return checkChanges(res.body, req.origin);
      },
      hello: async (peer, timeoutMs, withPeers, asker) => {
        const res = await this.rpc(address, peer, 'hello', helloQuery(withPeers ?? false, asker), timeoutMs);
        if (res.status !== 200) throw new PeerRequestError('status', `peer answered ${res.status}`);
        return checkHello(res.body);
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
  }

  private reachable(a: string, b: string): boolean {
    if (this.down.has(a) || this.down.has(b)) return false;
    if (!this.groups) return true;
    return this.groups.some((g) => g.includes(a) && g.includes(b));
  }

  /** Puts raw bytes on the LAN as if `from` sent them: forged, replayed or junk datagrams in tests. */
  inject(from: string, data: Uint8Array): void {
    this.broadcast(from, data);
  }

  private broadcast(from: string, data: Uint8Array): void {
    if (this.down.has(from)) return;
    this.sent += 1;
    this.onSend?.(from, data);
    for (const [to, handler] of this.sockets) {
      if (!this.reachable(from, to)) continue;
      if (to !== from && this.c.random() < this.loss) continue;
      const copies = this.c.random() < (this.init.duplicate ?? 0) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const delay = (this.init.latencyMs ?? 0.2) + this.c.random() * (this.init.reorderWindowMs ?? 0);
        this.c.clock.setTimeout(() => {
          if (this.sockets.get(to) !== handler || !this.reachable(from, to)) return;
          this.delivered += 1;
          handler(data, { address: from, port: 7770 });
        }, delay);
      }
    }
  }

  private rpc(
    from: string,
    peer: Endpoint,
    route: 'changes' | 'hello',
    q: URLSearchParams,
    timeoutMs: number,
  ): Promise<{ status: number; body: unknown }> {
    this.rpcs += 1;
    const latency = this.init.rpcLatencyMs ?? 1;
    return new Promise((resolve, reject) => {
      const service = this.services.get(`${peer.address}:${peer.port}`);
      if (!service || !this.reachable(from, peer.address)) {
        // Crashed or cut off: a partition looks like a timeout, a dead process like a refusal.
        const refused = !service || this.down.has(peer.address);
        this.c.clock.setTimeout(
          () =>
            reject(new PeerRequestError(refused ? 'refused' : 'timeout', refused ? 'connection refused' : 'timed out')),
          refused ? latency : timeoutMs,
        );
        return;
      }
      // An answer slower than the caller's deadline never arrives: the caller has given up.
      if (latency > timeoutMs) {
        this.c.clock.setTimeout(() => reject(new PeerRequestError('timeout', 'timed out')), timeoutMs);
        return;
      }
      this.c.clock.setTimeout(() => {
        if (!this.reachable(from, peer.address)) return reject(new PeerRequestError('timeout', 'timed out'));
        try {
          const answer = service.handle(route, q, { address: from, port: 0 });
          const text = JSON.stringify(answer.body);
          // The same cap as the HTTP client: an answer over it never arrives.
          if (Buffer.byteLength(text) > MAX_PEER_RESPONSE_BYTES)
            return reject(new PeerRequestError('too-large', 'answer too large'));
          resolve({ status: answer.status, body: JSON.parse(text) });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      }, latency);
    });
  }
}
