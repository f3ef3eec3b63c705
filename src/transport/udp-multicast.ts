import { createSocket, type Socket } from 'node:dgram';
import type { DatagramHandler, DatagramTransport, Endpoint } from './transport.js';

export interface UdpMulticastInit {
  group: string;
  port: number;
  /** IPv4 address of the interface to join and send on: never "all interfaces". */
  interfaceAddress: string;
  /** 1 keeps announcements on the local link, as a site's LAN protocol should. */
  ttl?: number;
  /** Errors after start (a send with no route while an interface is down): reported, never fatal. */
  onError?: (err: Error) => void;
  /** A datagram whose handling threw: a bug, reported and counted by the caller. */
  onHandlerError?: (err: unknown) => void;
}

/**
 * UDP multicast pinned to one interface: the socket joins the group on that interface only and sends
 * through it (IP_MULTICAST_IF), so nothing leaves by another interface. Several agents on one host
 * share the port (SO_REUSEADDR) and all receive every datagram.
 */
export class UdpMulticastTransport implements DatagramTransport {
  private socket: Socket | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(private readonly init: UdpMulticastInit) {}

  async start(onMessage: DatagramHandler): Promise<{ address: string }> {
    if (this.socket) return { address: this.init.interfaceAddress };
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    // The sender's rinfo is an Endpoint (address, port) as it is. A handler that throws is reported, not
    // left to the socket's emitter, where it would be an uncaught exception: one datagram, one crash.
    socket.on('message', (data: Buffer, from: Endpoint) => {
      try {
        onMessage(data, from);
      } catch (err) {
        this.init.onHandlerError?.(err);
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // Bound to the group address, the socket receives only that group's traffic, not unicast to the port.
      socket.bind(this.init.port, process.platform === 'linux' ? this.init.group : undefined, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.addMembership(this.init.group, this.init.interfaceAddress);
      socket.setMulticastInterface(this.init.interfaceAddress);
      socket.setMulticastTTL(this.init.ttl ?? 1);
      socket.setMulticastLoopback(true); // agents on the same host hear each other
    } catch (err) {
      socket.close();
      throw new Error(`cannot join ${this.init.group} on ${this.init.interfaceAddress}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    socket.on('error', (err) => this.init.onError?.(err));
    this.socket = socket;
    return { address: this.init.interfaceAddress };
  }

  send(data: Uint8Array): void {
    if (!this.socket) return;
    this.inFlight += 1;
    this.socket.send(data, this.init.port, this.init.group, (err) => {
      this.inFlight -= 1;
      if (err) this.init.onError?.(err);
      if (this.inFlight === 0) this.drained?.();
    });
  }

  /** Closes after the queued datagrams are out: a goodbye sent just before stop() must not be dropped. */
  async stop(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.socket = undefined;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
