import { createSocket, type Socket } from 'node:dgram';
import { udpWireBytes } from '../wire.js';

/**
 * A passive member of a site's multicast group on loopback: it sends nothing and counts what arrives,
 * as a host on the segment would have to receive it.
 */
export class GroupListener {
  bytes = 0;
  datagrams = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data) => {
      this.datagrams += 1;
      this.bytes += udpWireBytes(data.length);
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

  close(): void {
    this.socket.close();
  }
}
