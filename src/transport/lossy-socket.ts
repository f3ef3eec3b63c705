import { createSocket, type Socket } from 'node:dgram';
import type { Random } from '../util/random.js';

/**
 * A UDP socket that drops a share of the datagrams it receives, for libraries that take a socket
 * (multicast-dns): the benchmark injects mDNS loss in process, seeded, like Herald's own.
 */
export function lossyUdpSocket(rate: number, random: Random, onSend?: (bytes: number) => void): Socket {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  if (onSend) {
    const send = socket.send.bind(socket) as (...args: unknown[]) => void;
    socket.send = ((...args: unknown[]) => {
      const msg = args[0];
      onSend(Buffer.isBuffer(msg) ? msg.length : msg instanceof Uint8Array ? msg.byteLength : 0);
      send(...args);
    }) as typeof socket.send;
  }
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'message' && random() < rate) return true;
    return emit(event, ...args);
  }) as typeof socket.emit;
  return socket;
}
