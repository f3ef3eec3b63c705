import { createSocket, type Socket } from 'node:dgram';
import { declaredLength, decodeMessage } from '../../src/protocol/codec.js';
import { MESSAGE_TYPE_NAMES } from '../../src/protocol/messages.js';
import { udpWireBytes } from '../wire.js';

/** What one agent multicast since the listener's mark: datagrams by type, and the interval it last announced. */
export interface SenderTally {
  datagrams: number;
  types: Record<string, number>;
  intervalMs?: number;
}

/** 10 s: at 200 agents ~26 heartbeats a bin, enough to see the cold start's wake against a 76 s interval. */
const SERIES_BIN_MS = 10_000;

/**
 * A passive member of a site's multicast group on loopback: it sends nothing and counts what arrives,
 * as a host on the segment would have to receive it; and, since its mark, who sent it (the idle question
 * of idle13: which agents multicast more than their stretched interval allows).
 */
export class GroupListener {
  bytes = 0;
  datagrams = 0;
  private tally = new Map<string, SenderTally>();
  private markedAt = performance.now();
  /** Wire bytes heard in each SERIES_BIN_MS since the mark: whether the idle window fell in the cold start's wake. */
  private series: number[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data) => {
      this.datagrams += 1;
      this.bytes += udpWireBytes(data.length);
      const bin = Math.floor(this.sinceMark() / SERIES_BIN_MS);
      while (this.series.length <= bin) this.series.push(0);
      this.series[bin] += udpWireBytes(data.length);
      this.count(data);
    });
  }

  static join(group: string, port: number): Promise<GroupListener> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, () => {
        socket.addMembership(group, '127.0.0.1');
        resolve(new GroupListener(socket));
      });
    });
  }

  /** Starts the tally afresh. */
  mark(): void {
    this.tally = new Map();
    this.series = [];
    this.markedAt = performance.now();
  }

  /** Milliseconds since the mark, on this process's clock. */
  sinceMark(): number {
    return performance.now() - this.markedAt;
  }

  /** Each sender's tally since the mark, and how long ago the mark was (ms, this process's clock). */
  senders(): { ms: number; bySender: Map<string, SenderTally> } {
    return { ms: this.sinceMark(), bySender: this.tally };
  }

  /** The site's multicast on the wire since the mark, B/s in each bin of `binMs` (the last bin may be partial). */
  bytesPerSecond(): { binMs: number; bytesPerSecond: number[] } {
    const upTo = Math.ceil(this.sinceMark() / SERIES_BIN_MS);
    const bins = Array.from({ length: upTo }, (_, i) => ((this.series[i] ?? 0) * 1000) / SERIES_BIN_MS);
    return { binMs: SERIES_BIN_MS, bytesPerSecond: bins.map((b) => Math.round(b)) };
  }

  close(): void {
    this.socket.close();
  }

  private count(data: Buffer): void {
    let name: string;
    let type: string;
    let intervalMs: number | undefined;
    try {
      // A keyed site's tag follows the message: read up to the length its header declares.
      const msg = decodeMessage(data.subarray(0, declaredLength(data) ?? data.length));
      [name, type, intervalMs] = [msg.name, MESSAGE_TYPE_NAMES[msg.type], msg.intervalMs];
    } catch {
      [name, type] = ['(undecoded)', 'other'];
    }
    const t = this.tally.get(name) ?? { datagrams: 0, types: {} };
    t.datagrams += 1;
    t.types[type] = (t.types[type] ?? 0) + 1;
    if (intervalMs !== undefined) t.intervalMs = intervalMs;
    this.tally.set(name, t);
  }
}
