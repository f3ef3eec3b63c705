import { MAGIC, HEADER_OFFSETS } from '../../src/protocol/codec.js';
import { MESSAGE_TYPE_NAMES } from '../../src/protocol/messages.js';
import type {
  DatagramHandler,
  DatagramTransport,
  Endpoint,
  PeerClient,
  PeerService,
} from '../../src/transport/transport.js';

/** What one agent put on and took off the LAN. Bytes are payloads: UDP/IP and HTTP/TCP headers are not counted. */
export interface AgentCost {
  multicastSent: number;
  multicastSentBytes: number;
  unicastSent: number;
  unicastSentBytes: number;
  /** Every copy of another agent's multicast this agent's socket was handed (what its host had to wake for). */
  multicastReceived: number;
  multicastReceivedBytes: number;
  unicastReceived: number;
  unicastReceivedBytes: number;
  /**
   * The datagrams received by way and message type ("multicast heartbeat", "unicast notice"): what an idle
   * agent's bytes are, by kind (idle17). A datagram whose header does not read is "other".
   */
  receivedByType: Record<string, { count: number; bytes: number }>;
  /** Peer requests (catch-ups and probes) this agent made, and the answer bytes it was sent. */
  requestsMade: number;
  /** Of those, catch-ups (`changes`, one origin's or the bulk of every held set's pages). */
  catchupsMade: number;
  requestBytesReceived: number;
  /** Peer requests this agent answered, and the answer bytes it sent; catch-ups are `changes` requests. */
  requestsServed: number;
  catchupsServed: number;
  requestBytesServed: number;
  /** Answers served by kind: catch-ups, summaries (a hello with `?peers=1`), plain probes. */
  served: Record<AnswerKind, { count: number; bytes: number }>;
  /** Answers this agent was sent, by kind (the other end of `served`). */
  answersReceivedBytes: Record<AnswerKind, number>;
  /** Who asked this agent for its summary (asker's address), and how often: what draws summaries at idle. */
  summaryAskers: Map<string, number>;
}

/** What a peer answer was: a catch-up (`changes`), a summary (hello `?peers=1`) or a plain probe (hello). */
export type AnswerKind = 'catchup' | 'summary' | 'probe';

export function answerKind(route: string, query: URLSearchParams): AnswerKind {
  if (route === 'changes') return 'catchup';
  return query.get('peers') === '1' ? 'summary' : 'probe';
}

/** A datagram's message type by its header (codec.ts): the open envelope's bytes are the message's. */
export function datagramType(data: Uint8Array): string {
  const magic = data.length > HEADER_OFFSETS.type ? (data[0] << 8) | data[1] : -1;
  return (magic === MAGIC && MESSAGE_TYPE_NAMES[data[HEADER_OFFSETS.type]]) || 'other';
}

export function emptyCost(): AgentCost {
  return {
    multicastSent: 0,
    multicastSentBytes: 0,
    unicastSent: 0,
    unicastSentBytes: 0,
    multicastReceived: 0,
    multicastReceivedBytes: 0,
    unicastReceived: 0,
    unicastReceivedBytes: 0,
    receivedByType: {},
    requestsMade: 0,
    catchupsMade: 0,
    requestBytesReceived: 0,
    requestsServed: 0,
    catchupsServed: 0,
    requestBytesServed: 0,
    served: { catchup: { count: 0, bytes: 0 }, summary: { count: 0, bytes: 0 }, probe: { count: 0, bytes: 0 } },
    answersReceivedBytes: { catchup: 0, summary: 0, probe: 0 },
    summaryAskers: new Map(),
  };
}

/**
 * The cost model of a simulated site, by wrapping each agent's transport, peer client and peer service
 * (the network itself is not touched). The LAN is a shared medium: one multicast is ONE transmission,
 * counted once site-wide however many agents receive it; each receiving socket counts its copy.
 */
export class CostMeter {
  readonly byAddress = new Map<string, AgentCost>();
  /** Site-wide: transmissions on the medium (each multicast once, each unicast once) and their bytes. */
  readonly site = { multicast: 0, multicastBytes: 0, unicast: 0, unicastBytes: 0 };

  /** `json`: an answer's JSON; the simulated network's own (MemoryNetwork.answerJson) serialises each answer once. */
  constructor(private readonly json: (body: unknown) => string = JSON.stringify) {}

  of(address: string): AgentCost {
    let cost = this.byAddress.get(address);
    if (!cost) this.byAddress.set(address, (cost = emptyCost()));
    return cost;
  }

  /** Starts a new measuring window: every counter back to zero. */
  reset(): void {
    for (const cost of this.byAddress.values()) Object.assign(cost, emptyCost());
    Object.assign(this.site, { multicast: 0, multicastBytes: 0, unicast: 0, unicastBytes: 0 });
  }

  transport(address: string, inner: DatagramTransport): DatagramTransport {
    return {
      start: (onMessage: DatagramHandler) => inner.start(this.receiver(address, onMessage)),
      send: (data) => {
        const cost = this.of(address);
        cost.multicastSent += 1;
        cost.multicastSentBytes += data.length;
        this.site.multicast += 1;
        this.site.multicastBytes += data.length;
        inner.send(data);
      },
      sendTo: (data, to) => {
        const cost = this.of(address);
        cost.unicastSent += 1;
        cost.unicastSentBytes += data.length;
        this.site.unicast += 1;
        this.site.unicastBytes += data.length;
        inner.sendTo(data, to);
      },
      stop: () => inner.stop(),
    };
  }

  private receiver(address: string, onMessage: DatagramHandler): DatagramHandler {
    return (data, from, kind) => {
      if (from.address !== address) {
        const cost = this.of(address);
        if (kind === 'multicast') {
          cost.multicastReceived += 1;
          cost.multicastReceivedBytes += data.length;
        } else {
          cost.unicastReceived += 1;
          cost.unicastReceivedBytes += data.length;
        }
        const key = `${kind} ${datagramType(data)}`;
        const byType = (cost.receivedByType[key] ??= { count: 0, bytes: 0 });
        byType.count += 1;
        byType.bytes += data.length;
      }
      onMessage(data, from, kind);
    };
  }

  peers(address: string, inner: PeerClient): PeerClient {
    return {
      changes: (peer, request, timeoutMs) => {
        this.of(address).requestsMade += 1;
        this.of(address).catchupsMade += 1;
        return inner.changes(peer, request, timeoutMs);
      },
      hello: (peer, timeoutMs, withPeers, asker) => {
        this.of(address).requestsMade += 1;
        return inner.hello(peer, timeoutMs, withPeers, asker);
      },
      ...(inner.sets && {
        sets: (peer: Endpoint, after: string | undefined, timeoutMs: number) => {
          this.of(address).requestsMade += 1;
          this.of(address).catchupsMade += 1;
          return inner.sets!(peer, after, timeoutMs);
        },
      }),
      close: () => inner.close(),
    };
  }

  /** The answer's bytes are measured once, where it is made, and charged to both ends. */
  service(address: string, inner: PeerService): PeerService {
    return {
      handle: (route, query, from) => {
        const answer = inner.handle(route, query, from);
        const bytes = Buffer.byteLength(this.json(answer.body ?? null));
        const cost = this.of(address);
        cost.requestsServed += 1;
        if (route === 'changes') cost.catchupsServed += 1;
        cost.requestBytesServed += bytes;
        const kind = answerKind(route, query);
        cost.served[kind].count += 1;
        cost.served[kind].bytes += bytes;
        if (kind === 'summary') cost.summaryAskers.set(from.address, (cost.summaryAskers.get(from.address) ?? 0) + 1);
        const asker = this.of(from.address);
        asker.requestBytesReceived += bytes;
        asker.answersReceivedBytes[kind] += bytes;
        return answer;
      },
    };
  }
}
