import { createSocket, type Socket } from 'node:dgram';
import type { DatagramHandler, DatagramKind, DatagramStarted, DatagramTransport, Endpoint } from './transport.js';

export interface UdpMulticastInit {
  group: string;
  port: number;
  /** IPv4 address of the interface to join and send on: never "all interfaces". */
  interfaceAddress: string;
  /** The port of this agent's own datagram endpoint; 0 (the default) lets the kernel choose one. */
  unicastPort?: number;
  /** 1 keeps announcements on the local link, as a site's LAN protocol should. */
  ttl?: number;
  /**
   * Whether a sender is on the interface's link. The endpoint socket is bound to the interface address and would
   * take a routed datagram from anywhere. The group socket too hears more than its interface: Linux gives it the
   * group's datagrams from every interface where any socket of the host joined the group (IP_MULTICAST_ALL, which
   * Node cannot clear), so an agent pinned to one LAN heard another agent's LAN on the same host (attack12).
   * Absent: every sender is taken (tests, the demo).
   */
  onLink?: (address: string) => boolean;
  /** A datagram from off the link, dropped unread: counted by the caller. */
  onOffLink?: (from: Endpoint, kind: DatagramKind) => void;
  /** Errors after start (a send with no route while an interface is down): reported, never fatal. */
  onError?: (err: Error) => void;
  /** A datagram whose handling threw: a bug, reported and counted by the caller. */
  onHandlerError?: (err: unknown) => void;
}

/** Which step of start failed: the group's shared port, joining the group on the interface, or the endpoint. */
export type TransportStartStep = 'group-port' | 'join' | 'endpoint';

/**
 * Why the transport could not start, keeping the system's code (EADDRINUSE, ENODEV...) of its cause: the CLI
 * maps the code to an exit status and the step to the advice (a group port another program holds is fixed
 * with --group, not --api or --peer-port). Wrapped in a plain Error, the code was lost: a join that failed
 * exited 70, "a fault of Herald", with a stack trace.
 */
export class TransportStartError extends Error {
  readonly code: string | undefined;

  constructor(
    readonly step: TransportStartStep,
    what: string,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`${what}: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`, { cause });
    this.name = 'TransportStartError';
    this.code = code;
  }
}

/**
 * UDP multicast pinned to one interface, and unicast between agents. Two sockets:
 * - the group socket is bound to the group address and port and joins the group on that interface only:
 *   it receives the site's multicast and nothing else (several agents on one host share the port with
 *   SO_REUSEADDR, and all receive every datagram), but for the group's datagrams that reach the host on
 *   other interfaces where it joined the group too, which `onLink` drops;
 * - the endpoint socket is bound to the interface address on a port of its own. Every datagram this agent
 *   sends leaves from it, multicast (through that interface: IP_MULTICAST_IF) and unicast alike, so the
 *   source a peer sees is where unicast reaches this agent alone. A shared port could not do that: the
 *   kernel hands a unicast datagram to one of the sockets sharing a port, not to the one meant.
 */
export class UdpMulticastTransport implements DatagramTransport {
  private group: Socket | undefined;
  private endpoint: Socket | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(private readonly init: UdpMulticastInit) {}

  async start(onMessage: DatagramHandler): Promise<DatagramStarted> {
    if (this.group) return { address: this.init.interfaceAddress, port: this.localEndpoint()?.port };
    const { group: groupAddress, port, interfaceAddress } = this.init;
    // Bound to the group address, the socket receives only that group's traffic, not unicast to the port.
    const group = await this.bind(onMessage, 'multicast', port, linuxOnly(groupAddress)).catch((err: unknown) => {
      throw new TransportStartError('group-port', `cannot bind the site's group port ${groupAddress}:${port}`, err);
    });
    let endpoint: Socket;
    try {
      group.addMembership(groupAddress, interfaceAddress);
    } catch (err) {
      group.close();
      throw new TransportStartError('join', `cannot join ${groupAddress} on ${interfaceAddress}`, err);
    }
    try {
      endpoint = await this.bind(onMessage, 'unicast', this.init.unicastPort ?? 0, interfaceAddress);
    } catch (err) {
      group.close();
      const at = `${interfaceAddress}:${this.init.unicastPort ?? 0}`;
      throw new TransportStartError('endpoint', `cannot bind this agent's datagram endpoint ${at}`, err);
    }
    try {
      endpoint.setMulticastInterface(interfaceAddress);
      endpoint.setMulticastTTL(this.init.ttl ?? 1);
      endpoint.setMulticastLoopback(true); // agents on the same host hear each other
    } catch (err) {
      group.close();
      endpoint.close();
      throw new TransportStartError('join', `cannot send to ${groupAddress} on ${interfaceAddress}`, err);
    }
    for (const socket of [group, endpoint]) socket.on('error', (err) => this.init.onError?.(err));
    this.group = group;
    this.endpoint = endpoint;
    return { address: interfaceAddress, port: endpoint.address().port };
  }

  /** This agent's datagram endpoint, as peers see it in the source of what it sends; after start. */
  localEndpoint(): Endpoint | undefined {
    const a = this.endpoint?.address();
    return a ? { address: a.address, port: a.port } : undefined;
  }

  send(data: Uint8Array): void {
    this.sendTo(data, { address: this.init.group, port: this.init.port });
  }

  /**
   * Never throws: `to` is often where a datagram came from, and a forged source may name port 0, which Node's send
   * refuses synchronously (ERR_SOCKET_BAD_PORT). Thrown, it ended the liveness round's timer (announcer.ts): one
   * forged heartbeat stopped an agent's unicast heartbeats for good. Reported as a send error instead.
   */
  sendTo(data: Uint8Array, to: Endpoint): void {
    if (!this.endpoint) return;
    const done = (err: Error | null) => {
      this.inFlight -= 1;
      if (err) this.init.onError?.(err);
      if (this.inFlight === 0) this.drained?.();
    };
    this.inFlight += 1;
    try {
      this.endpoint.send(data, to.port, to.address, done);
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Closes after the queued datagrams are out: a goodbye sent just before stop() must not be dropped. */
  async stop(): Promise<void> {
    const sockets = [this.group, this.endpoint].filter((s): s is Socket => s !== undefined);
    if (sockets.length === 0) return;
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.group = undefined;
    this.endpoint = undefined;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private async bind(onMessage: DatagramHandler, kind: DatagramKind, port: number, address?: string): Promise<Socket> {
    // Only the group's port is shared. An endpoint socket with SO_REUSEADDR was handed, for port 0, a port another
    // agent's endpoint already held (one agent in a 200-agent run): unicast to it went to the other (miss12).
    const socket = createSocket({ type: 'udp4', reuseAddr: kind === 'multicast' });
    // The sender's rinfo is an Endpoint (address, port) as it is. A handler that throws is reported, not
    // left to the socket's emitter, where it would be an uncaught exception: one datagram, one crash.
    socket.on('message', (data: Buffer, from: Endpoint) => {
      if (this.init.onLink && !this.init.onLink(from.address)) return this.init.onOffLink?.(from, kind);
      try {
        onMessage(data, from, kind);
      } catch (err) {
        this.init.onHandlerError?.(err);
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => {
        socket.close();
        reject(err);
      });
      socket.bind(port, address, () => {
        socket.removeAllListeners('error');
        resolve();
      });
    });
    return socket;
  }
}

function linuxOnly(address: string): string | undefined {
  return process.platform === 'linux' ? address : undefined;
}
