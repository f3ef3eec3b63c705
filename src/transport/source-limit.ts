import { isLoopbackSource } from '../security/loopback.js';
import type { Clock } from '../util/clock.js';
import { TokenBuckets } from '../util/token-bucket.js';
import type { DatagramHandler, DatagramStarted, DatagramTransport, Endpoint } from './transport.js';

/**
 * Datagrams a second one source address may make the agent look at, and the burst allowed. An agent
 * sends a heartbeat a second and an announcement per change; 200 a second leaves room for dozens of
 * agents behind one address (tests and demos run many on loopback) and for bursts of changes, while a
 * flood from one host is cut to that before any tag is checked or byte parsed.
 */
export const DATAGRAM_SOURCE_LIMIT = { perSecond: 200, burst: 400 } as const;

/**
 * A datagram transport that drops, before anything else is done, what a source sends beyond its rate.
 * Loopback sources are this host's own agents (a LAN host cannot send from 127.0.0.0/8: the kernel
 * drops such martians on other interfaces), so they are not limited.
 */
export class SourceLimitedTransport implements DatagramTransport {
  private readonly buckets: TokenBuckets;

  constructor(
    private readonly inner: DatagramTransport,
    clock: Clock,
    private readonly onDropped: (from: Endpoint) => void,
    limit: { perSecond: number; burst: number } = DATAGRAM_SOURCE_LIMIT,
  ) {
    this.buckets = new TokenBuckets(clock, limit.perSecond, limit.burst);
  }

  start(onMessage: DatagramHandler): Promise<DatagramStarted> {
    // Unicast and multicast from one address share its bucket: a flood gains nothing by switching.
    return this.inner.start((data, from, kind) => {
      if (isLoopbackSource(from.address) || this.buckets.take(from.address)) onMessage(data, from, kind);
      else this.onDropped(from);
    });
  }

  send(data: Uint8Array): void {
    this.inner.send(data);
  }

  sendTo(data: Uint8Array, to: Endpoint): void {
    this.inner.sendTo(data, to);
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}
