import type { Agent } from '../../src/agent/agent.js';
import { MessageType } from '../../src/protocol/messages.js';
import type { DatagramTransport } from '../../src/transport/transport.js';
import { percentile, summarize } from '../stats.js';
import { changedDevices, type ClusterOptions } from '../system.js';
import { heraldSlice } from '../systems/herald.js';
import { HeldReport } from './held-report.js';
import type { ChangeTimings, HeldRow } from './site-worker.js';

/**
 * `nice -n 10 node dist/bench/scale/socket-receive-cost.js [agents] [changes] [--bare] [--port N]`: what each
 * receiving agent spends on one change announcement, on real loopback sockets, as a scale step's child holds its
 * agents: `agents` Herald agents of the bench's site (heraldSlice: UDP multicast on lo, HTTP catch-up on
 * 127.0.0.1, heartbeats on) in one process and one event loop. Each agent's datagram handler is timed around its
 * call for the announcements of `changes` changes (after a quarter as many of warm-up), one every 50 ms as the
 * scale step makes them, the origin's own copy left out. With the child's bookkeeping on every directory event
 * (held-report.ts, timed as in a change phase) unless `--bare`: what the harness's observation adds to a copy.
 * `--cpu-prof` profiles it. Nothing leaves lo: the group is joined on 127.0.0.1 only.
 */

export interface SocketReceiveCost {
  agents: number;
  copies: number;
  /** µs of wall time in one agent's datagram handler, per copy of a change announcement. */
  handlerUs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** µs of wall time per copy in its deferred hint pass (run after the loop's turn, not between two copies). */
  hintsUs: number;
  /** Each such pass: µs of wall time, and how many ran. */
  hintPassUs: { p50: number; p99: number; n: number };
  /** With the child's bookkeeping: µs of wall time per copy in it (HeldReport.progressed, inside the handler). */
  harnessUs?: number;
  /** µs from a copy's handler called to its agent's directory holding the change (its first directory event). */
  toHeldUs: { p50: number; p99: number };
  /**
   * µs of wall time per copy across one change's copies in the loop: first copy's handler called to the last one's
   * returned, over the copies: the handler plus the socket's read and dispatch, as the loop runs them back to back.
   */
  spanPerCopyUs: { p50: number; p99: number };
  /** µs of the process's CPU per copy over the same span: what the loop ran, not the time it was not running. */
  spanCpuPerCopyUs: { p50: number; p99: number };
  /** µs from one copy's handler returned to the next one's called, within a change: the socket's part and more. */
  gapUs: { p50: number; p90: number };
  /** ms from the announcement sent (the origin's reload done) to the last viewer holding it, over changes. */
  lastHeldMs: { p50: number; p99: number; max: number };
  /** Hints ignored over the timed changes (every datagram's), by herald_hints_ignored_total's series, per copy. */
  hintsIgnoredPerCopy: Record<string, number>;
  /** The timed changes' window on the monotonic clock (µs, a --cpu-prof's sample times): a profile read over it. */
  windowUs: [number, number];
  /** Changes whose copies did not all arrive within a second (none expected on lo at 0 % loss). */
  incomplete: number;
}

interface Copy {
  at: bigint;
  handlerNs: bigint;
  toHeldNs: bigint | undefined;
}

const WAIT_MS = 1000;
const INTERVAL_MS = 50;

const cpuNow = () => {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
};
/** herald_hints_ignored_total summed over the agents, by series. */
function ignoredHints(members: { agent: Agent }[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const m of members)
    for (const [series, v] of m.agent.metrics.hintsIgnored.series()) sums.set(series, (sums.get(series) ?? 0) + v);
  return sums;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const us = (ns: bigint | number) => Number(ns) / 1000;

/** The bench child's bookkeeping (site-worker.ts start) on every directory event, its reports thrown away. */
function childHarness(slice: ReturnType<typeof heraldSlice>, spent: { ns: bigint }): ChangeTimings {
  const timings: ChangeTimings = { on: true, sent: [], applied: [] };
  const offset = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  const report = new HeldReport(
    (v, o) => slice.made.get(v)?.agent.directory.held(o),
    timings,
    (rows: HeldRow[]) => JSON.stringify({ t: 'held', rows }),
    () => performance.now() + offset,
  );
  slice.nodes.cluster().onProgress((v, o) => {
    const t0 = process.hrtime.bigint();
    report.progressed(v, o);
    spent.ns += process.hrtime.bigint() - t0;
  });
  return timings;
}

export async function socketReceiveCost(agents = 50, changes = 100, bare = false, port = 47_000 + (process.pid % 900)) {
  const opts: ClusterOptions = { agents, devicesPerAgent: 10, loss: 0, heartbeatMs: 1000, seed: 18, port };
  const ownPort: number[] = [];
  let timing = false;
  let copies: Copy[] = [];
  // process.cpuUsage() (µs) at the first copy of a change called and the last one returned: two calls a change,
  // as one around each copy took ~30 % of the handler's samples in a --cpu-prof.
  const cpu = { first: 0, last: 0 };
  // The copy being handled: its entry in `copies` until its agent's directory first moves in it.
  let current: Copy | undefined;
  // A function of its own: a --cpu-prof of the run tells the timed copies' handling apart by its name.
  function timedCopy(handle: () => void): void {
    if (copies.length === 0) cpu.first = cpuNow();
    const at = process.hrtime.bigint();
    current = { at, handlerNs: 0n, toHeldNs: undefined };
    handle();
    current.handlerNs = process.hrtime.bigint() - at;
    copies.push(current);
    current = undefined;
    if (copies.length === agents - 1) cpu.last = cpuNow();
  }
  const wrap = (i: number, inner: DatagramTransport): DatagramTransport => ({
    ...inner,
    send: (d) => inner.send(d),
    sendTo: (d, to) => inner.sendTo(d, to),
    stop: () => inner.stop(),
    start: async (h) => {
      const started = await inner.start((data, from, kind) => {
        if (!timing || data[3] !== MessageType.announce || from.port === ownPort[i]) return h(data, from, kind);
        timedCopy(() => h(data, from, kind));
      });
      ownPort[i] = started.port ?? -1;
      return started;
    },
  });
  let hintsNs = 0n;
  let hintPasses: number[] = [];
  const defer = (work: () => void) => {
    const ofCopy = current !== undefined;
    setImmediate(() => {
      if (!timing || !ofCopy) return work();
      const t0 = process.hrtime.bigint();
      work();
      const ns = process.hrtime.bigint() - t0;
      hintsNs += ns;
      hintPasses.push(us(ns));
    });
  };
  const slice = heraldSlice(opts, { heartbeatScaling: true, wrap, defer }, 0, agents);
  const members = [...slice.made.values()];
  const harness = { ns: 0n };
  if (!bare) childHarness(slice, harness);
  for (const m of members)
    m.agent.directory.subscribe(() => {
      if (current && current.toHeldNs === undefined) current.toHeldNs = process.hrtime.bigint() - current.at;
    });
  for (const [k, m] of members.entries()) {
    await m.agent.start();
    if (k % 10 === 9) await sleep(20);
  }
  const names = slice.nodes.names;
  const holds = (v: number, o: number, version: number) =>
    (members[v].agent.directory.held(names[o])?.version ?? 0) >= version;
  const everyoneHolds = (o: number, version: number) => members.every((_, v) => v === o || holds(v, o, version));
  for (let t0 = Date.now(); Date.now() - t0 < 30_000; await sleep(100))
    if (members.every((m, o) => everyoneHolds(o, m.agent.local.currentVersion))) break;
  await sleep(2500); // past the start's hints and catch-ups
  const spans: number[] = [];
  const spanCpus: number[] = [];
  const gaps: number[] = [];
  const last: number[] = [];
  const all: Copy[] = [];
  let incomplete = 0;
  const warm = Math.ceil(changes / 4);
  const window: [number, number] = [0, 0];
  let ignoredBefore = new Map<string, number>();
  for (let k = 0; k < warm + changes; k++) {
    const o = k % agents;
    const m = members[o];
    m.source.set(changedDevices(names[o], k, k + 1, 10));
    copies = [];
    cpu.last = 0;
    timing = true;
    if (k === warm) {
      harness.ns = 0n;
      hintsNs = 0n;
      hintPasses = [];
      window[0] = us(process.hrtime.bigint());
      ignoredBefore = ignoredHints(members);
    }
    await m.agent.reload('bench');
    const sentAt = process.hrtime.bigint();
    const version = m.agent.local.currentVersion;
    const t0 = Date.now();
    while (!everyoneHolds(o, version) && Date.now() - t0 < WAIT_MS) await sleep(2);
    timing = false;
    if (k < warm) continue;
    if (!everyoneHolds(o, version) || copies.length < agents - 1) incomplete += 1;
    if (copies.length > 0) {
      const first = copies[0];
      const end = copies[copies.length - 1];
      spans.push(us(end.at + end.handlerNs - first.at) / copies.length);
      if (cpu.last > 0) spanCpus.push((cpu.last - cpu.first) / copies.length);
      for (let j = 1; j < copies.length; j++) gaps.push(us(copies[j].at - copies[j - 1].at - copies[j - 1].handlerNs));
      last.push(Math.max(...copies.map((c) => us(c.at + (c.toHeldNs ?? c.handlerNs) - sentAt))) / 1000);
    }
    all.push(...copies);
    await sleep(INTERVAL_MS);
  }
  window[1] = us(process.hrtime.bigint());
  const ignored = ignoredHints(members);
  for (const [k, v] of ignoredBefore) ignored.set(k, (ignored.get(k) ?? 0) - v);
  for (const m of members) await m.agent.stop({ goodbye: false });
  const handlerAll = all.map((c) => us(c.handlerNs)).sort((a, b) => a - b);
  const handler = { ...summarize(handlerAll), p90: percentile(handlerAll, 90) };
  const toHeld = summarize(all.filter((c) => c.toHeldNs !== undefined).map((c) => us(c.toHeldNs!)));
  const span = summarize(spans);
  const spanCpu = summarize(spanCpus);
  const gapsSorted = gaps.sort((a, b) => a - b);
  const lastHeld = summarize(last);
  const mean = all.reduce((s, c) => s + us(c.handlerNs), 0) / Math.max(1, all.length);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const cost: SocketReceiveCost = {
    agents,
    copies: all.length,
    handlerUs: {
      p50: r1(handler.p50),
      p90: r1(handler.p90),
      p99: r1(handler.p99),
      max: r1(handler.max),
      mean: r1(mean),
    },
    hintsUs: r1(us(hintsNs) / Math.max(1, all.length)),
    hintPassUs: { p50: r1(summarize(hintPasses).p50), p99: r1(summarize(hintPasses).p99), n: hintPasses.length },
    ...(!bare && { harnessUs: r1(us(harness.ns) / Math.max(1, all.length)) }),
    toHeldUs: { p50: r1(toHeld.p50), p99: r1(toHeld.p99) },
    spanPerCopyUs: { p50: r1(span.p50), p99: r1(span.p99) },
    spanCpuPerCopyUs: { p50: r1(spanCpu.p50), p99: r1(spanCpu.p99) },
    gapUs: { p50: r1(percentile(gapsSorted, 50)), p90: r1(percentile(gapsSorted, 90)) },
    lastHeldMs: { p50: r1(lastHeld.p50), p99: r1(lastHeld.p99), max: r1(lastHeld.max) },
    hintsIgnoredPerCopy: Object.fromEntries([...ignored].map(([k, v]) => [k, r1((v * 100) / all.length) / 100])),
    windowUs: window.map(Math.round) as [number, number],
    incomplete,
  };
  return cost;
}
