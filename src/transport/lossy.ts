import type { Random } from '../util/random.js';
import type { DatagramTransport } from './transport.js';

/**
 * Drops a share of received datagrams, from a seeded source: the benchmark and tests inject loss in
 * process so that runs repeat. (End-to-end tests drop in the kernel with nftables instead.)
 */
export function withReceiveLoss(inner: DatagramTransport, rate: () => number, random: Random): DatagramTransport {
  return {
    start: (onMessage) =>
      inner.start((data, from, kind) => {
        if (random() >= rate()) onMessage(data, from, kind);
      }),
    send: (data) => inner.send(data),
    sendTo: (data, to) => inner.sendTo(data, to),
    stop: () => inner.stop(),
  };
}
