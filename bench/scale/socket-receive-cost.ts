import type { Agent } from '../../src/agent/agent.js';
import { MessageType } from '../../src/protocol/messages.js';
import type { DatagramTransport } from '../../src/transport/transport.js';
import { percentile, summarize } from '../stats.js';
import { changedDevices, type ClusterOptions } from '../system.js';
import { heraldSlice } from '../systems/herald.js';
import { HeldReport } from './held-report.js';
import type { ChangeTimings, HeldRow } from './site-worker.js';

/**
 * `nice -n 10 node dist/bench/scale/socket-receive-cost-main.js [agents] [changes] [runs] [--bare | --both]`: what each
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const us = (ns: bigint | number) => Number(ns) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;

/** herald_hints_ignored_total summed over the agents, by series. */
function ignoredHints(members: { agent: Agent }[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const m of members)
    for (const [series, v] of m.agent.metrics.hintsIgnored.series()) sums.set(series, (sums.get(series) ?? 0) + v);
  return sums;
}

/**
 * The timing around each agent: its announcement copies (handler), each copy's deferred hint pass, and its
 * directory's first event inside the copy. One per run; `on` while a change's copies are expected.
 */
class CopyTimer {
  on = false;
  copies: Copy[] = [];
  hintPasses: number[] = [];
  /**
   * process.cpuUsage() (µs) at the first copy of a change called and the last one returned: two calls a change,
   * as one around each copy took ~30 % of the handler's samples in a --cpu-prof.
   */
  readonly cpu = { first: 0, last: 0 };
  /** The copy being handled. */
  private current: Copy | undefined;
  private readonly ownPort: number[] = [];

  constructor(private readonly agents: number) {}

  /** A method of its own: a --cpu-prof of the run tells the timed copies' handling apart by its name. */
  timedCopy(handle: () => void): void {
    if (this.copies.length === 0) this.cpu.first = cpuNow();
    const at = process.hrtime.bigint();
    const copy: Copy = { at, handlerNs: 0n, toHeldNs: undefined };
    this.current = copy;
    handle();
    copy.handlerNs = process.hrtime.bigint() - at;
    this.copies.push(copy);
    this.current = undefined;
    if (this.copies.length === this.agents - 1) this.cpu.last = cpuNow();
  }

  /** Around agent i's transport: its announcements from others are timed; its own copy is not a receiver's. */
  readonly wrap = (i: number, inner: DatagramTransport): DatagramTransport => ({
    ...inner,
    send: (d) => inner.send(d),
    sendTo: (d, to) => inner.sendTo(d, to),
    stop: () => inner.stop(),
    start: async (h) => {
      const started = await inner.start((data, from, kind) => {
        if (!this.on || data[3] !== MessageType.announce || from.port === this.ownPort[i]) return h(data, from, kind);
        this.timedCopy(() => h(data, from, kind));
      });
      this.ownPort[i] = started.port ?? -1;
      return started;
    },
  });

  /** The agents' `defer` (as a host's: the next check phase); a timed copy's hint pass is timed. */
  readonly defer = (work: () => void): void => {
    const ofCopy = this.current !== undefined;
    setImmediate(() => {
      if (!this.on || !ofCopy) return work();
      const t0 = process.hrtime.bigint();
      work();
      this.hintPasses.push(us(process.hrtime.bigint() - t0));
    });
  };

  /** Any agent's directory event: the first inside a timed copy is its agent holding the change. */
  readonly directoryMoved = (): void => {
    const c = this.current;
    if (c && c.toHeldNs === undefined) c.toHeldNs = process.hrtime.bigint() - c.at;
  };
}

/** The bench child's bookkeeping (site-worker.ts start) on every directory event, its reports thrown away. */
function childHarness(slice: ReturnType<typeof heraldSlice>, spent: { ns: bigint }): void {
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
}

type Site = Awaited<ReturnType<typeof startSite>>;

/** The agents started, each holding every other's first version, past the start's hints and catch-ups. */
async function startSite(agents: number, port: number, timer: CopyTimer, bare: boolean) {
  const opts: ClusterOptions = { agents, devicesPerAgent: 10, loss: 0, heartbeatMs: 1000, seed: 18, port };
  const slice = heraldSlice(opts, { heartbeatScaling: true, wrap: timer.wrap, defer: timer.defer }, 0, agents);
  const members = [...slice.made.values()];
  const harness = { ns: 0n };
  if (!bare) childHarness(slice, harness);
  for (const m of members) m.agent.directory.subscribe(timer.directoryMoved);
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
  await sleep(2500);
  return { members, names, harness, everyoneHolds };
}

/** What the timed changes gave, before summing up. */
interface Taken {
  all: Copy[];
  spans: number[];
  spanCpus: number[];
  gaps: number[];
  last: number[];
  incomplete: number;
  window: [number, number];
  ignored: Map<string, number>;
}

/** One change's copies, once all held (or WAIT_MS passed): its spans, gaps and last viewer into `t`. */
function takeChange(t: Taken, timer: CopyTimer, sentAt: bigint, complete: boolean, agents: number): void {
  const copies = timer.copies;
  if (!complete || copies.length < agents - 1) t.incomplete += 1;
  if (copies.length === 0) return;
  const first = copies[0];
  const end = copies[copies.length - 1];
  t.spans.push(us(end.at + end.handlerNs - first.at) / copies.length);
  if (timer.cpu.last > 0) t.spanCpus.push((timer.cpu.last - timer.cpu.first) / copies.length);
  for (let j = 1; j < copies.length; j++) t.gaps.push(us(copies[j].at - copies[j - 1].at - copies[j - 1].handlerNs));
  t.last.push(Math.max(...copies.map((c) => us(c.at + (c.toHeldNs ?? c.handlerNs) - sentAt))) / 1000);
  t.all.push(...copies);
}

/** `changes` one-device changes 50 ms apart after a quarter as many of warm-up, origins in turn. */
async function runChanges(site: Site, timer: CopyTimer, changes: number): Promise<Taken> {
  const { members, names, everyoneHolds } = site;
  const t: Taken = {
    all: [],
    spans: [],
    spanCpus: [],
    gaps: [],
    last: [],
    incomplete: 0,
    window: [0, 0],
    ignored: new Map(),
  };
  const warm = Math.ceil(changes / 4);
  let ignoredBefore = new Map<string, number>();
  for (let k = 0; k < warm + changes; k++) {
    const o = k % members.length;
    members[o].source.set(changedDevices(names[o], k, k + 1, 10));
    [timer.copies, timer.cpu.last, timer.on] = [[], 0, true];
    if (k === warm) {
      [site.harness.ns, timer.hintPasses] = [0n, []];
      t.window[0] = us(process.hrtime.bigint());
      ignoredBefore = ignoredHints(members);
    }
    await members[o].agent.reload('bench');
    const sentAt = process.hrtime.bigint();
    const version = members[o].agent.local.currentVersion;
    const t0 = Date.now();
    while (!everyoneHolds(o, version) && Date.now() - t0 < WAIT_MS) await sleep(2);
    timer.on = false;
    if (k >= warm) takeChange(t, timer, sentAt, everyoneHolds(o, version), members.length);
    await sleep(INTERVAL_MS);
  }
  t.window[1] = us(process.hrtime.bigint());
  t.ignored = ignoredHints(members);
  for (const [key, v] of ignoredBefore) t.ignored.set(key, (t.ignored.get(key) ?? 0) - v);
  return t;
}

function summary(agents: number, t: Taken, timer: CopyTimer, harnessNs: bigint | undefined): SocketReceiveCost {
  const n = Math.max(1, t.all.length);
  const handlerAll = t.all.map((c) => us(c.handlerNs)).sort((a, b) => a - b);
  const handler = summarize(handlerAll);
  const toHeld = summarize(t.all.flatMap((c) => (c.toHeldNs === undefined ? [] : [us(c.toHeldNs)])));
  const span = summarize(t.spans);
  const spanCpu = summarize(t.spanCpus);
  const gaps = t.gaps.sort((a, b) => a - b);
  const lastHeld = summarize(t.last);
  const passes = summarize(timer.hintPasses);
  return {
    agents,
    copies: t.all.length,
    handlerUs: {
      p50: r1(handler.p50),
      p90: r1(percentile(handlerAll, 90)),
      p99: r1(handler.p99),
      max: r1(handler.max),
      mean: r1(handlerAll.reduce((a, b) => a + b, 0) / n),
    },
    hintsUs: r1(timer.hintPasses.reduce((a, b) => a + b, 0) / n),
    hintPassUs: { p50: r1(passes.p50), p99: r1(passes.p99), n: timer.hintPasses.length },
    ...(harnessNs !== undefined && { harnessUs: r1(us(harnessNs) / n) }),
    toHeldUs: { p50: r1(toHeld.p50), p99: r1(toHeld.p99) },
    spanPerCopyUs: { p50: r1(span.p50), p99: r1(span.p99) },
    spanCpuPerCopyUs: { p50: r1(spanCpu.p50), p99: r1(spanCpu.p99) },
    gapUs: { p50: r1(percentile(gaps, 50)), p90: r1(percentile(gaps, 90)) },
    lastHeldMs: { p50: r1(lastHeld.p50), p99: r1(lastHeld.p99), max: r1(lastHeld.max) },
    hintsIgnoredPerCopy: Object.fromEntries([...t.ignored].map(([k, v]) => [k, r1((v * 100) / n) / 100])),
    windowUs: t.window.map(Math.round) as [number, number],
    incomplete: t.incomplete,
  };
}

export async function socketReceiveCost(
  agents = 50,
  changes = 100,
  bare = false,
  port = 47_000 + (process.pid % 900),
): Promise<SocketReceiveCost> {
  const timer = new CopyTimer(agents);
  const site = await startSite(agents, port, timer, bare);
  const taken = await runChanges(site, timer, changes);
  for (const m of site.members) await m.agent.stop({ goodbye: false });
  return summary(agents, taken, timer, bare ? undefined : site.harness.ns);
}
