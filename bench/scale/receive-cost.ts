import { decodeMessage } from '../../src/protocol/codec.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import { MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { MemoryNetwork } from '../../src/transport/memory-network.js';
import type { DatagramTransport } from '../../src/transport/transport.js';
import { FakeClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';
import { seededRandom } from '../../src/util/random.js';
import { memoryChange, startMemorySite, type Site } from '../protocol-cpu.js';

/**
 * What one agent's handling of one change announcement costs, the receive path alone: on the scale step's
 * real-socket site 50 agents share a child's event loop, each handles its copy of the one multicast datagram
 * in turn, and the last of them holds the change 49 handlings after the first (issue 18's 20 ms p99 at 0 %).
 * Agents on the in-memory network (fake clock, heartbeats off, no socket), each agent's datagram handler
 * timed by the high-resolution clock around the call: decode, tag check, directory apply, its events, hints.
 */
export interface ReceiveCost {
  /** Announcement copies handled while timed: (agents − 1) × changes. */
  copies: number;
  /** µs of wall time per copy, the whole handler (nothing else runs in between: one process, no I/O). */
  perCopyUs: number;
  /** µs of CPU per copy (process.cpuUsage around each call): what a loaded machine's wall time adds is not in it. */
  perCopyCpuUs: number;
  /**
   * µs of CPU per copy of the hint pass alone (included in perCopyCpuUs): run at once, its share of the
   * handler's wall time taken of the handler's CPU.
   */
  hintsCpuUs: number;
  /** µs of CPU per copy of the decoding alone (decodeMessage on the same bytes, 20 times each). */
  decodeUs: number;
  /** perCopyCpuUs × 49: how late the 50th agent of a 50-agent loop is from this handling alone. */
  loopOf50Ms: number;
}

/** Times each agent's announcement handling over `changes` changes among `agents` agents; `keyed`: a cluster key. */
export async function receiveCost(agents = 50, changes = 200, keyed = false): Promise<ReceiveCost> {
  const clock = new FakeClock();
  const random = seededRandom(77);
  const network = new MemoryNetwork({ clock, random });
  let timing = false;
  let spentNs = 0n;
  let cpuUs = 0;
  let copies = 0;
  let hintsNs = 0n;
  // A host agent defers a datagram's hints to the end of the loop's turn; here they run at once (inside the
  // handler's timing, as they are CPU of the copy all the same), and are timed apart.
  const defer = (work: () => void) => {
    if (!timing) return work();
    const t0 = process.hrtime.bigint();
    work();
    hintsNs += process.hrtime.bigint() - t0;
  };
  const seen: Uint8Array[] = [];
  const keys = keyed ? parseKeyRing(generateKey()) : undefined;
  // Decoding alone is timed on the message inside the envelope.
  const trailer = keys ? new HmacEnvelope(keys, clock).overhead : 0;
  const wrap = (inner: DatagramTransport, own: string): DatagramTransport => ({
    ...inner,
    send: (d) => inner.send(d),
    sendTo: (d, to) => inner.sendTo(d, to),
    stop: () => inner.stop(),
    start: (h) =>
      inner.start((data, from, kind) => {
        // The origin hears its own announcement too: not a receiver's work.
        if (!timing || data[3] !== MessageType.announce || from.address === own) return h(data, from, kind);
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        h(data, from, kind);
        spentNs += process.hrtime.bigint() - t0;
        const cpu = process.cpuUsage(cpu0);
        cpuUs += cpu.user + cpu.system;
        copies += 1;
        if (seen.length < changes) seen.push(data.subarray(0, data.length - trailer));
      }),
  });
  const site: Site = {
    clock,
    random,
    network,
    keys,
    logger: createLogger({ level: 'silent' }),
    wrap,
    defer,
  };
  const nodes = await startMemorySite(site, agents);
  const change = (k: number) => memoryChange(site, nodes, k);
  for (let k = 0; k < changes / 4; k++) await change(k); // JIT warm-up
  timing = true;
  for (let k = 0; k < changes; k++) await change(changes + k);
  timing = false;
  for (const n of nodes) await n.agent.stop({ goodbye: false });
  const cpu0 = process.cpuUsage();
  for (let k = 0; k < 20; k++) for (const bytes of seen) decodeMessage(bytes);
  const decoded = process.cpuUsage(cpu0);
  const decodeUs = (decoded.user + decoded.system) / 20 / Math.max(1, seen.length);
  const perCopyUs = Number(spentNs) / 1000 / Math.max(1, copies);
  const perCopyCpuUs = cpuUs / Math.max(1, copies);
  const hintsCpuUs = spentNs > 0n ? (Number(hintsNs) / Number(spentNs)) * perCopyCpuUs : 0;
  return { copies, perCopyUs, perCopyCpuUs, hintsCpuUs, decodeUs, loopOf50Ms: (perCopyCpuUs * 49) / 1000 };
}
