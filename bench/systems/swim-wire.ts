import { createServer, connect, type Server } from 'node:net';
import type { Device } from '../../src/profiles/model.js';
import { TCP_EXCHANGE_OVERHEAD } from '../wire.js';

/** What the SWIM baseline puts on the wire: its datagrams, its gossip, its push-pull state. */

/** memberlist's DefaultLANConfig (hashicorp/memberlist config.go), the values the baseline runs with. */
export const LAN = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  pushPullIntervalMs: 30_000,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  /** memberlist packs piggy-backed broadcasts into one UDP packet of at most this many bytes. */
  udpBufferSize: 1400,
} as const;

/** News about one member, spread by piggy-back: memberlist's alive / suspect / dead messages. */
export type Broadcast =
  | { k: 'alive'; name: string; port: number; inc: number; version: number; devices: Device[] }
  | { k: 'suspect' | 'dead'; name: string; inc: number; from: string };

/** A datagram's own content; every one also carries its sender's name and piggy-backed news. */
export type Message =
  | { t: 'ping'; seq: number; target: string }
  | { t: 'ack'; seq: number }
  | { t: 'ping-req'; seq: number; target: string; targetPort: number }
  | { t: 'gossip' };

export type Datagram = Message & { from: string; b: Broadcast[] };

/** One member as a push-pull exchange carries it: memberlist's pushNodeState, with the app state in it. */
export interface MemberState {
  name: string;
  port: number;
  inc: number;
  version: number;
  state: 'alive' | 'suspect' | 'dead';
  devices: Device[];
}

/** Retransmit limit of a broadcast: RetransmitMult × ceil(log10(N + 1)), as memberlist's retransmitLimit. */
export function retransmitLimit(members: number): number {
  return LAN.retransmitMult * Math.ceil(Math.log10(members + 1));
}

/**
 * Suspicion timeout: SuspicionMult × max(1, log10(N)) × ProbeInterval, memberlist's suspicionTimeout.
 * Lifeguard starts at SuspicionMaxTimeoutMult times this and shrinks it as independent suspicions
 * arrive; the baseline takes the floor at once, its best case.
 */
export function suspicionTimeoutMs(members: number): number {
  return LAN.suspicionMult * Math.max(1, Math.log10(Math.max(1, members))) * LAN.probeIntervalMs;
}

/** Wire bytes of one push-pull exchange (both states and the TCP/IP headers), counted by the answering end. */
export type StreamCounter = (bytes: number) => void;

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The push-pull listener: reads the caller's whole state, merges it, answers with its own. */
export function pushPullServer(
  port: number,
  onState: (remote: MemberState[]) => void,
  local: () => MemberState[],
  count: StreamCounter,
): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    void readAll(socket)
      .then((data) => {
        const answer = Buffer.from(JSON.stringify(local()));
        socket.end(answer);
        count(data.length + answer.length + TCP_EXCHANGE_OVERHEAD);
        onState(JSON.parse(data.toString('utf8')) as MemberState[]);
      })
      .catch(() => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** One push-pull exchange with the member at `port`: memberlist's pushPull over TCP. */
export async function pushPull(port: number, state: MemberState[]): Promise<MemberState[]> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const request = Buffer.from(JSON.stringify(state));
  socket.setTimeout(10_000, () => socket.destroy());
  const answered = readAll(socket);
  socket.end(request);
  const data = await answered;
  return JSON.parse(data.toString('utf8')) as MemberState[];
}
