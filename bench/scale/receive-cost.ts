import { decodeMessage } from '../../src/protocol/codec.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import { MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { MemoryNetwork } from '../../src/transport/memory-network.js';
import type { DatagramTransport } from '../../src/transport/transport.js';
import { FakeClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';
import { seededRandom } from '../../src/util/random.js';
import type { Agent } from '../../src/agent/agent.js';
import { HeldReport } from './held-report.js';
import type { ChangeTimings } from './site-worker.js';
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
  /**
   * µs of wall time per copy from the handler's call to the agent's directory holding the change (its first
   * directory event): the part of a copy the agent's own holding waits for. The rest of perCopyUs (less the
   * hints, which a host runs after the turn) is work after the change is applied that the next agents of the
   * same loop wait for.
   */
  toHeldUs: number;
  /** With `harness`: µs of CPU per change of the child's held report to the bench (its rows, serialized). */
  reportUs?: number;
}

/** `harness`: each agent's directory events also go through the scale step's per-child bookkeeping (held-report.ts). */
export interface ReceiveCostOptions {
  harness?: boolean;
}

/** Times each agent's announcement handling over `changes` changes among `agents` agents; `keyed`: a cluster key. */
export async function receiveCost(
  agents = 50,
  changes = 200,
  keyed = false,
  options: ReceiveCostOptions = {},
): Promise<ReceiveCost> {
  const clock = new FakeClock();
  const random = seededRandom(77);
  const network = new MemoryNetwork({ clock, random });
  let timing = false;
  let spentNs = 0n;
  let cpuUs = 0;
  let copies = 0;
  let hintsNs = 0n;
  let toHeldNs = 0n;
  // The copy being handled: when its handler was called, and whether its agent's directory has held it yet.
  let copyAt: bigint | undefined;
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
        copyAt = t0;
        h(data, from, kind);
        copyAt = undefined;
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
  for (const n of nodes)
    n.agent.directory.subscribe(() => {
      if (copyAt === undefined) return;
      toHeldNs += process.hrtime.bigint() - copyAt;
      copyAt = undefined;
    });
  const report = options.harness ? harnessOf(nodes) : undefined;
  let reportCpuUs = 0;
  const change = async (k: number) => {
    await memoryChange(site, nodes, k);
    if (!report) return;
    const cpu0 = process.cpuUsage();
    report.flush();
    const cpu = process.cpuUsage(cpu0);
    if (timing) reportCpuUs += cpu.user + cpu.system;
  };
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
  const toHeldUs = Number(toHeldNs) / 1000 / Math.max(1, copies);
  return {
    copies,
    perCopyUs,
    perCopyCpuUs,
    hintsCpuUs,
    decodeUs,
    loopOf50Ms: (perCopyCpuUs * 49) / 1000,
    toHeldUs,
    ...(report && { reportUs: reportCpuUs / changes }),
  };
}

/**
 * The scale step's child bookkeeping on every agent (site-worker.ts): its directory events through BenchNodes'
 * progress listeners to the held report, timed as in a change phase; a report's IPC is its rows serialized.
 */
function harnessOf(nodes: { agent: Agent }[]): { flush: () => void } {
  const timings: ChangeTimings = { on: true, sent: [], applied: [] };
  const report = new HeldReport(
    (v, o) => nodes[v].agent.directory.held(o),
    timings,
    (rows) => JSON.stringify({ t: 'held', rows }),
    () => Number(process.hrtime.bigint()) / 1e6,
  );
  const listeners = [report.progressed];
  const progressed = (viewer: number, origin: string) => {
    for (const l of listeners) l(viewer, origin);
  };
  nodes.forEach((n, i) => n.agent.directory.subscribe((e) => progressed(i, e.agent)));
  // A child takes what it kept of a timed phase at the phase's end; here every change, so that it does not pile up.
  return {
    flush: () => {
      report.flush();
      timings.applied.length = 0;
    },
  };
}
