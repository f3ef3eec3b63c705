import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { Clock } from '../util/clock.js';
import { TokenBuckets } from '../util/token-bucket.js';

export const MDNS_GROUP = '224.0.0.251';
export const MDNS_PORT = 5353;
/** RFC 6762 §17: an mDNS message is at most 9,000 bytes; anything larger is not mDNS. */
export const MAX_PACKET_BYTES = 9000;
/** Records (questions included) one packet may carry before it is dropped undecoded. */
export const MAX_RECORDS_PER_PACKET = 64;
/** Records a second taken from the link, all senders together (a burst of twice that). */
export const MAX_RECORDS_PER_SECOND = 1000;

export type DecodedPacket = ReturnType<typeof dnsPacket.decode>;
export type Answer = NonNullable<DecodedPacket['answers']>[number];
export type DropReason = 'source-port' | 'off-link' | 'too-large' | 'too-many-records' | 'rate-limited' | 'malformed';

export interface MdnsSocketInit {
  /** IPv4 address of the one interface mDNS runs on: joined, sent from, and the only link listened to. */
  interfaceAddress: string;
  /** Whether an address is on the configured interface's link (its subnet). */
  onLink: (address: string) => boolean;
  clock: Clock;
  onDrop: (reason: DropReason, from: RemoteInfo) => void;
  /** An unbound UDP socket to use (the benchmark injects loss through it). */
  socket?: Socket;
  port?: number;
}

/**
 * The mDNS socket, pinned to one interface, and the first filter of everything heard (issue 16 item 6):
 * bound to the group address, so that datagrams sent to this host's unicast address never arrive here;
 * only senders on the configured link and with source port 5353 (RFC 6762 §11: a response from another
 * port is not a Multicast DNS response, and this responder does not serve legacy unicast queries);
 * size and record counts are checked from the 12-byte header before anything is decoded, and a rate
 * cap on records bounds the decoding done per second. dns-packet is the codec.
 */
export class MdnsSocket {
  private readonly socket: Socket;
  private readonly port: number;
  private readonly budget: TokenBuckets;
  private closed = false;
  /** What this socket sent lately: the loopback copy of our own packet is not another responder's. */
  private readonly sent = new Map<string, number>();

  constructor(private readonly init: MdnsSocketInit) {
    this.socket = init.socket ?? createSocket({ type: 'udp4', reuseAddr: true });
    this.port = init.port ?? MDNS_PORT;
    this.budget = new TokenBuckets(init.clock, MAX_RECORDS_PER_SECOND, 2 * MAX_RECORDS_PER_SECOND, 1);
  }

  async start(onPacket: (packet: DecodedPacket, from: RemoteInfo) => void): Promise<void> {
    const s = this.socket;
    s.on('message', (data: Buffer, from: RemoteInfo) => {
      const packet = this.admit(data, from);
      if (packet) onPacket(packet, from);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.port, MDNS_GROUP, () => {
        s.removeListener('error', reject);
        resolve();
      });
    });
    s.on('error', () => {}); // send errors surface through send()'s callback
    s.addMembership(MDNS_GROUP, this.init.interfaceAddress);
    s.setMulticastInterface(this.init.interfaceAddress);
    s.setMulticastTTL(255);
    s.setMulticastLoopback(true); // other responders on this host (avahi, a second agent) hear us
  }

  send(packet: dnsPacket.Packet): Promise<void> {
    if (this.closed) return Promise.resolve();
    const bytes = dnsPacket.encode(packet);
    if (this.sent.size >= 64) this.sent.clear();
    this.sent.set(bytes.toString('latin1'), this.init.clock.monotonic());
    return new Promise((resolve, reject) =>
      this.socket.send(bytes, this.port, MDNS_GROUP, (err) => (err ? reject(err) : resolve())),
    );
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  /** The checks, cheapest first; a packet is decoded only once it passed all the others. */
  private admit(data: Buffer, from: RemoteInfo): DecodedPacket | undefined {
    const drop = (reason: DropReason) => {
      this.init.onDrop(reason, from);
      return undefined;
    };
    if (from.port !== this.port) return drop('source-port');
    if (!this.init.onLink(from.address)) return drop('off-link');
    if (data.length > MAX_PACKET_BYTES) return drop('too-large');
    const own = this.sent.get(data.toString('latin1'));
    if (own !== undefined && this.init.clock.monotonic() - own < 5000) return undefined;
    if (data.length < 12) return drop('malformed');
    const records = data.readUInt16BE(4) + data.readUInt16BE(6) + data.readUInt16BE(8) + data.readUInt16BE(10);
    if (records > MAX_RECORDS_PER_PACKET) return drop('too-many-records');
    if (!this.budget.take('link', Math.max(1, records))) return drop('rate-limited');
    try {
      return dnsPacket.decode(data);
    } catch {
      return drop('malformed');
    }
  }
}
