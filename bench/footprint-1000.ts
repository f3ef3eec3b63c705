import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { generateKey } from '../src/security/cluster-key.js';
import { cpuSeconds, profilesDir, rssMiB, stopProcess, unitNodeFlags } from './agent-process.js';
import { floorProcess, gauge, startMeasured, type Measured } from './footprint.js';
import { now, sleep } from './harness.js';
import { EmulatorProcess } from './scale/emulator-handle.js';
import type { EmulatorCounts } from './scale/site-emulator.js';
import { median } from './stats.js';

/** What the measured agent's traffic and requests were over the idle window, per second. */
export interface IdleTraffic {
  /** UDP payload bytes the agent sent and received (its own metrics), multicast and unicast together. */
  sentBytesPerSecond: number;
  receivedBytesPerSecond: number;
  /** The same by kind (the agent's metrics' `kind` label): multicast to the site, unicast to one agent. */
  byKind: { sent: Partial<Record<string, number>>; received: Partial<Record<string, number>> };
  /**
   * Payload bytes a second as the emulator counted them: the site's multicast heartbeats, its subjects'
   * unicast heartbeats to the agent, and the agent's own multicasts (which it hears back) and unicast.
   */
  bytes: { siteMulticast: number; unicastToAgent: number; agentMulticast: number; agentUnicast: number };
  /** The emulated site's multicast heartbeats, and the unicast heartbeats of the agent's subjects. */
  siteMulticastPerSecond: number;
  unicastToAgentPerSecond: number;
  unicastFromAgentPerSecond: number;
  /** Peer requests the agent made of the emulated agents: probes (hellos), summaries among them, catch-ups. */
  hellos: number;
  summaries: number;
  changes: number;
}

/** One real agent in a site of 1,000 (the other 999 emulated), as issue 18's goal has it. */
export interface Site1000Results {
  agents: number;
  devicesPerAgent: number;
  flags: string[];
  /** Keyed: a signed datagram verifies an emulated agent as it would a real one (see site-emulator.ts). */
  keyed: boolean;
  meanIntervalMs: number;
  /** From the agent's start until its API listed every agent alive and every device; Infinity if never. */
  syncMs: number;
  listed: { agents: number; alive: number; devices: number };
  /** What the agent asked of the emulated site until then. */
  sync: { hellos: number; summaries: number; changes: number };
  /** From then until the agent's probes quietened (no hello for QUIET_SECONDS), and what it asked meanwhile. */
  settleMs: number;
  settle: { hellos: number; summaries: number; changes: number };
  /**
   * RSS when the probes quietened (what the join's burst left resident), and how long it then took to
   * settle (SETTLED_AGE_MS): the idle window starts after that, or after STEADY_MAX_MS.
   */
  quietRssMiB: number;
  steadyMs: number;
  idleSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  /**
   * RSS split as /proc/PID/status has it (RssAnon: V8's heap and malloc; RssFile: the node binary's pages),
   * medians over the idle window, and the RSS of its first and last second: it still falls after a join.
   */
  anonymousMiB: number;
  fileMiB: number;
  rssFirstLastMiB: [number, number];
  idleCpuPercent: number;
  emulatorCpuPercent: number;
  /** A bare Node process (the unit's flags) receiving the same multicast over the same window: the floor. */
  floorCpuPercent: number;
  /** Refusals of the emulated endpoints over the whole run, by reason (none expected). */
  refused: Record<string, number>;
  /**
   * The measured agent's multicasts over the whole run, by type: a `notice` says it lost an emulated agent,
   * all of which stay alive, so any notice is a false loss.
   */
  measuredMulticasts: Record<string, number>;
  idle: IdleTraffic;
  /**
   * The same from the probes' quiet to the idle window's end (its RSS settling included, ~6 minutes): a
   * 60 s window holds ~260 of the site's heartbeats, whose count alone varies by ±6 % (one sigma).
   */
  settledSeconds: number;
  settledTraffic: IdleTraffic;
  aliveAfter: number;
}

const QUIET_SECONDS = 10;
/**
 * Settled: the agent is SETTLED_AGE_MS old and its RSS moved by at most STEADY_MIB over the last
 * STEADY_SECONDS. The age matters more than the steadiness: after the join's burst RSS sits on plateaus
 * (157 MiB for two minutes) and V8 gives its grown heap back in big steps about 3 and 4.5 minutes after
 * the start (157, 77, then 68 MiB in a 10-minute run), so 20 steady seconds alone caught a plateau.
 */
const SETTLED_AGE_MS = 300_000;
const STEADY_SECONDS = 20;
const STEADY_MIB = 1;
const STEADY_MAX_MS = 420_000;
const SETTLE_MAX_MS = 240_000;
const SYNC_MAX_MS = 180_000;

/** A counter's values by its `kind` label. */
async function metricByKind(api: string, name: string): Promise<Record<string, number>> {
  const text = await (await request(`http://${api}/metrics`)).body.text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{kind="(\\w+)"\\} (\\S+)$`, 'gm'))) out[m[1]] = Number(m[2]);
  return out;
}

const total = (byKind: Record<string, number>) => Object.values(byKind).reduce((a, b) => a + b, 0);

function perSecond(a: Record<string, number>, b: Record<string, number>, s: number): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] - (a[k] ?? 0)) / s]));
}

/** Resident memory, and its anonymous pages (V8's heap, malloc) and file pages (the node binary, mostly). */
async function resident(pid: number): Promise<{ rss: number; anon: number; file: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile') };
}

async function listed(api: string): Promise<Site1000Results['listed']> {
  const agents = (await (await request(`http://${api}/v1/agents`)).body.json()) as { agents: { state: string }[] };
  const devices = (await (await request(`http://${api}/v1/devices`)).body.json()) as { count: number };
  const alive = agents.agents.filter((a) => a.state === 'alive').length;
  return { agents: agents.agents.length, alive, devices: devices.count };
}

/** Until the devices gauge reaches every device, then the API's own lists: the time, and what they say. */
async function untilComplete(m: Measured, emulator: EmulatorProcess, agents: number, devices: number) {
  const deadline = Date.now() + SYNC_MAX_MS;
  while ((await gauge(m.api, 'herald_devices')) < devices && Date.now() < deadline) {
    m.peak = Math.max(m.peak, await rssMiB(m.proc.pid!));
    await sleep(500);
  }
  const seen = await listed(m.api);
  const complete = seen.alive === agents && seen.devices === devices;
  const { hellos, summaries, changes } = (await emulator.counts()).counts;
  return { syncMs: complete ? now() - m.t0 : Infinity, listed: seen, sync: { hellos, summaries, changes } };
}

/** Until no probe reached the emulated site for QUIET_SECONDS: a newcomer probes peers it has not heard yet. */
async function untilQuiet(m: Measured, emulator: EmulatorProcess) {
  const t0 = now();
  const first = (await emulator.counts()).counts;
  let last = first;
  let quietSince = now();
  while (now() - quietSince < QUIET_SECONDS * 1000 && now() - t0 < SETTLE_MAX_MS) {
    await sleep(1000);
    m.peak = Math.max(m.peak, await rssMiB(m.proc.pid!));
    const c = (await emulator.counts()).counts;
    if (c.hellos !== last.hellos) quietSince = now();
    last = c;
  }
  const settle = { hellos: last.hellos - first.hellos, summaries: last.summaries - first.summaries };
  return { settleMs: now() - t0, settle: { ...settle, changes: last.changes - first.changes } };
}

/** Until the agent is SETTLED_AGE_MS old and its RSS has stopped falling (STEADY_SECONDS within STEADY_MIB). */
async function untilSteady(m: Measured): Promise<{ quietRssMiB: number; steadyMs: number }> {
  const t0 = now();
  const rss = [await rssMiB(m.proc.pid!)];
  const recent = () => rss.slice(-STEADY_SECONDS);
  const steady = () => rss.length >= STEADY_SECONDS && Math.max(...recent()) - Math.min(...recent()) <= STEADY_MIB;
  while (now() - t0 < STEADY_MAX_MS) {
    if (now() - m.t0 >= SETTLED_AGE_MS && steady()) break;
    await sleep(1000);
    rss.push(await rssMiB(m.proc.pid!));
  }
  return { quietRssMiB: rss[0], steadyMs: now() - t0 };
}

interface Snapshot {
  at: number;
  agentCpu: number;
  emulatorCpu: number;
  floorCpu: number;
  sent: Record<string, number>;
  received: Record<string, number>;
  counts: EmulatorCounts;
}

type TrafficMark = Pick<Snapshot, 'at' | 'sent' | 'received' | 'counts'>;

async function trafficMark(m: Measured, emulator: EmulatorProcess): Promise<TrafficMark> {
  return {
    at: now(),
    sent: await metricByKind(m.api, 'herald_datagram_bytes_sent_total'),
    received: await metricByKind(m.api, 'herald_datagram_bytes_received_total'),
    counts: (await emulator.counts()).counts,
  };
}

async function snapshot(m: Measured, emulator: EmulatorProcess, floor: ChildProcess): Promise<Snapshot> {
  return {
    agentCpu: await cpuSeconds(m.proc.pid!),
    emulatorCpu: await cpuSeconds(emulator.pid),
    floorCpu: await cpuSeconds(floor.pid!),
    ...(await trafficMark(m, emulator)),
  };
}

function traffic(a: TrafficMark, b: TrafficMark): IdleTraffic {
  const s = (b.at - a.at) / 1000;
  const d = (k: Exclude<keyof EmulatorCounts, 'multicastFromMeasured' | 'refused'>) => b.counts[k] - a.counts[k];
  return {
    sentBytesPerSecond: (total(b.sent) - total(a.sent)) / s,
    receivedBytesPerSecond: (total(b.received) - total(a.received)) / s,
    byKind: { sent: perSecond(a.sent, b.sent, s), received: perSecond(a.received, b.received, s) },
    bytes: {
      siteMulticast: d('multicastBytesSent') / s,
      unicastToAgent: d('unicastBytesSent') / s,
      agentMulticast: d('multicastBytesFromMeasured') / s,
      agentUnicast: d('unicastBytesFromMeasured') / s,
    },
    siteMulticastPerSecond: d('multicastSent') / s,
    unicastToAgentPerSecond: d('unicastSent') / s,
    unicastFromAgentPerSecond: d('unicastFromMeasured') / s,
    hellos: d('hellos'),
    summaries: d('summaries'),
    changes: d('changes'),
  };
}

/** The idle window: RSS each second; CPU of both pids from /proc/PID/stat (utime + stime) over it. */
async function idleWindow(
  m: Measured,
  emulator: EmulatorProcess,
  floor: ChildProcess,
  opts: { idleSeconds: number; settledFrom: TrafficMark },
) {
  const idleSeconds = opts.idleSeconds;
  const a = await snapshot(m, emulator, floor);
  const samples: { rss: number; anon: number; file: number }[] = [];
  while (now() - a.at < idleSeconds * 1000) {
    await sleep(1000);
    samples.push(await resident(m.proc.pid!));
  }
  const b = await snapshot(m, emulator, floor);
  const s = (b.at - a.at) / 1000;
  const rss = samples.map((x) => x.rss);
  return {
    rssMiB: median(rss),
    anonymousMiB: median(samples.map((x) => x.anon)),
    fileMiB: median(samples.map((x) => x.file)),
    rssFirstLastMiB: [rss[0], rss[rss.length - 1]] as [number, number],
    peakRssMiB: Math.max(m.peak, ...rss),
    idleCpuPercent: ((b.agentCpu - a.agentCpu) / s) * 100,
    emulatorCpuPercent: ((b.emulatorCpu - a.emulatorCpu) / s) * 100,
    floorCpuPercent: ((b.floorCpu - a.floorCpu) / s) * 100,
    idle: traffic(a, b),
    settledSeconds: (b.at - opts.settledFrom.at) / 1000,
    settledTraffic: traffic(opts.settledFrom, b),
  };
}

/**
 * RSS and idle CPU of one real agent (compiled, the unit's Node flags, `--interface lo`) living in a
 * keyed site of `agents`, the others emulated in one process (site-emulator.ts) on loopback addresses of
 * their own. Measured once its API lists every agent and device and its probes quietened, over
 * `idleSeconds`.
 */
export async function footprintAt1000(
  dir: string,
  opts: { agents: number; devicesPerAgent: number; idleSeconds: number },
): Promise<Site1000Results> {
  const port = 33000 + (process.pid % 1000);
  const site = `f${port}`;
  const name = `${site}-measured`;
  const key = generateKey();
  const keyFile = join(dir, 'cluster.key');
  await writeFile(keyFile, key + '\n', { mode: 0o600 });
  const profiles = await profilesDir(dir, opts.devicesPerAgent);
  const init = { site, group: '239.255.70.70', port, peers: opts.agents - 1, measured: name, key, seed: port };
  const emulator = new EmulatorProcess({ ...init, devicesPerPeer: opts.devicesPerAgent });
  let agent: Measured | undefined;
  let floor: ChildProcess | undefined;
  try {
    await emulator.ready();
    agent = await startMeasured(name, site, port, profiles, unitNodeFlags(), ['--key-file', keyFile]);
    const synced = await untilComplete(agent, emulator, opts.agents, opts.agents * opts.devicesPerAgent);
    const quiet = await untilQuiet(agent, emulator);
    const settledFrom = await trafficMark(agent, emulator);
    const settled = { ...quiet, ...(await untilSteady(agent)) };
    floor = floorProcess(port);
    await sleep(2000);
    const idle = await idleWindow(agent, emulator, floor, { idleSeconds: opts.idleSeconds, settledFrom });
    const { counts, meanIntervalMs } = await emulator.counts();
    return {
      ...opts,
      flags: unitNodeFlags(),
      keyed: true,
      meanIntervalMs,
      refused: counts.refused,
      measuredMulticasts: counts.multicastFromMeasured,
      ...synced,
      ...settled,
      ...idle,
      heapUsedMiB: (await gauge(agent.api, 'herald_process_heap_used_bytes')) / 2 ** 20,
      aliveAfter: await gauge(agent.api, 'herald_agents\\{state="alive"\\}'),
    };
  } finally {
    floor?.kill();
    if (agent) await stopProcess(agent.proc);
    await emulator.stop();
  }
}

/** The bench step (`--only footprint-1000`): 1,000 agents of 10 devices, 60 s idle; full runs only. */
export async function site1000Step(
  quick: boolean,
  progress: (what: string) => void,
): Promise<{ site1000?: Site1000Results; skipped?: string }> {
  if (quick) return { skipped: 'RSS and idle CPU in a site of 1,000 agents (full run only)' };
  progress('systemd: RSS and idle CPU of one agent in a site of 1,000 (999 emulated), 10 devices each');
  const dir = await mkdtemp(join(tmpdir(), 'herald-bench-1000-'));
  try {
    return { site1000: await footprintAt1000(dir, { agents: 1000, devicesPerAgent: 10, idleSeconds: 60 }) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
