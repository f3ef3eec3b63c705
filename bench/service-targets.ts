import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPkg from 'mqtt';
import { request } from 'undici';
import { MqttBridge } from '../src/mqtt/bridge.js';
import { benchDevice } from './system.js';
import { fullGc, median, summarize } from './stats.js';
import { startHerald } from './systems/herald.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const CLI = 'dist/src/cli/main.js';

function available(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One measured agent process: from its start until it holds every device, then settled and idle. */
export interface Footprint {
  /** Resident memory once settled: the median of samples over the idle window. */
  rssMiB: number;
  /** The highest sample while it took in the site's devices. */
  peakRssMiB: number;
  heapUsedMiB: number;
  idleCpuPercent: number;
  /** CPU time from process start until it held every device, and the wall time it took. */
  syncCpuSeconds: number;
  syncMs: number;
  /** Agents it held alive at the end of the idle window: the replayed heartbeats kept every peer alive. */
  aliveAfter: number;
}

export interface ServiceResults {
  readyMs?: { herald: number; bareNode: number };
  memory?: {
    devices: number; flags: string[]; settleSeconds: number; idleSeconds: number;
    /** The agent as the unit runs it, and the same agent with Node's default flags, on the same site. */
    unit: Footprint; defaults: Footprint;
    /** A bare Node process (the unit's flags) receiving the same datagrams in the same window. */
    floorIdleCpuPercent: number;
    bareNodeRssMiB: number;
  };
  mqtt?: { p99Ms: number; p50Ms: number; baselineP99Ms: number; outageSeconds: number; heapGrowthMiB: number; rssGrowthMiB: number; samples: number; ghostsAfter: number };
  skipped: string[];
}

/** A unix datagram socket standing in for systemd (python3; Node has no such sockets). */
async function notifySocket(dir: string): Promise<{ path: string; onReady: () => Promise<number>; close: () => void }> {
  const path = join(dir, `n${Math.random().toString(36).slice(2)}.sock`);
  const proc = spawn('python3', ['test/helpers/notify_socket.py', path], { stdio: ['ignore', 'pipe', 'ignore'] });
  let listening = false;
  let readyAt: number | undefined;
  proc.stdout!.on('data', (c: Buffer) => {
    for (const line of c.toString().split('\n')) {
      if (line === 'listening') listening = true;
      else if (line.includes('READY=1') && readyAt === undefined) readyAt = now();
    }
  });
  while (!listening) await sleep(10);
  return {
    path,
    onReady: async () => {
      while (readyAt === undefined) await sleep(2);
      return readyAt;
    },
    close: () => proc.kill(),
  };
}

/** The Node flags of the shipped unit's ExecStart: the agent is measured as it is deployed. */
function unitNodeFlags(): string[] {
  try {
    const unit = readFileSync('systemd/herald.service', 'utf8');
    return /^ExecStart=\S+ ((?:--\S+ )*)/m.exec(unit)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  } catch {
    return [];
  }
}

function agentProcess(args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags = unitNodeFlags()): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, CLI, 'agent', '--log-format', 'json', '--log-level', 'warn', '--interface', 'lo', '--discovery', 'multicast', ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  await exited;
}

function rssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+) kB/.exec(s)![1]) / 1024);
}

/** CPU time of the whole process, threads that ended included, in ticks of 10 ms. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100)
}

/** CPU time of the live threads in nanoseconds (schedstat): fine enough for an idle process over seconds. */
async function runSeconds(pid: number): Promise<number> {
  let ns = 0;
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const text = await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => '0');
    ns += Number(text.split(' ')[0]);
  }
  return ns / 1e9;
}

async function profilesDir(dir: string, n: number): Promise<string> {
  const p = join(dir, `profiles-${n}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(p, { recursive: true }));
  for (let k = 0; k < n; k++) {
    await writeFile(join(p, `d${k}.json`), JSON.stringify({ ...benchDevice('measured', k), names: [] }));
  }
  return p;
}

/** Process start to READY=1, against a bare `node -e 0` start measured in the same run. */
async function readyTimes(dir: string, runs: number): Promise<{ herald: number; bareNode: number }> {
  const profiles = await profilesDir(dir, 5);
  const herald: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    const sock = await notifySocket(dir);
    const t0 = now();
    const p = agentProcess(['--name', `ready-${i}`, '--site', `ready${process.pid}`, '--group', `239.255.70.70:${31000 + i}`, '--api', '127.0.0.1:0', '--peer-port', '0', '--profiles', profiles], { NOTIFY_SOCKET: sock.path });
    herald.push((await sock.onReady()) - t0);
    await stopProcess(p);
    sock.close();
    const b0 = now();
    await new Promise<void>((r) => spawn(process.execPath, ['-e', '0']).once('exit', () => r()));
    bare.push(now() - b0);
  }
  return { herald: median(herald), bareNode: median(bare) };
}

interface Measured {
  proc: ChildProcess;
  api: string;
  t0: number;
  peak: number;
}

async function startMeasured(name: string, site: string, port: number, profiles: string, nodeFlags: string[]): Promise<Measured> {
  const t0 = now();
  const proc = agentProcess(['--name', name, '--site', site, '--group', `239.255.70.70:${port}`, '--api', '127.0.0.1:0', '--peer-port', '0', '--profiles', profiles, '--log-level', 'info'], {}, nodeFlags);
  let api: string | undefined;
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    const m = /"msg":"agent started".*?"api":"([^"]+)"/.exec(out) ?? /"api":"([^"]+)".*?"msg":"agent started"/.exec(out);
    if (m) api = m[1];
  });
  const deadline = Date.now() + 10_000;
  while (!api) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`measured agent ${name} did not start`);
    await sleep(20);
  }
  return { proc, api, t0, peak: 0 };
}

async function gauge(api: string, name: string): Promise<number> {
  const metrics = await (await request(`http://${api}/metrics`)).body.text();
  return Number(new RegExp(`^${name} (\\d+(?:\\.\\d+)?)`, 'm').exec(metrics)?.[1] ?? NaN);
}

/** Until it holds `expected` devices: the CPU time from process start, and the wall time. */
async function untilHolds(m: Measured, expected: number): Promise<{ syncCpuSeconds: number; syncMs: number }> {
  const deadline = Date.now() + 60_000;
  // The devices gauge: a listing of 5,000 devices on every poll would weigh on what is measured.
  while ((await gauge(m.api, 'herald_devices')) < expected) {
    if (Date.now() > deadline) throw new Error(`measured agent did not reach ${expected} devices`);
    m.peak = Math.max(m.peak, await rssMiB(m.proc.pid!));
    await sleep(200);
  }
  return { syncCpuSeconds: await cpuSeconds(m.proc.pid!), syncMs: now() - m.t0 };
}

/**
 * The datagrams of an idle site, replayed: each agent's last heartbeat, once a period, from one socket.
 * Measured this way, an agent's idle CPU is its own, not shared with the 100 agents of this process
 * (which receive 10,000 datagrams a second between them), as it is on a site where peers are other hosts.
 */
async function replayHeartbeats(port: number, siteName: string, except: string[], periodMs: number): Promise<{ peers: number; stop: () => Promise<void> }> {
  const { createSocket } = await import('node:dgram');
  const { decodeMessage } = await import('../src/protocol/codec.js');
  const { MessageType } = await import('../src/protocol/messages.js');
  const group = '239.255.70.70';
  const heard = new Map<string, Buffer>();
  const listen = createSocket({ type: 'udp4', reuseAddr: true });
  listen.on('message', (data) => {
    try {
      const msg = decodeMessage(data);
      if (msg.site === siteName && msg.type === MessageType.heartbeat && !except.includes(msg.name)) heard.set(msg.name, Buffer.from(data));
    } catch {
      // not a heartbeat of this site
    }
  });
  await new Promise<void>((r) => listen.bind(port, group, () => r()));
  listen.addMembership(group, '127.0.0.1');
  await sleep(periodMs * 1.6);
  listen.close();
  const send = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => send.bind(0, '127.0.0.1', () => r()));
  send.setMulticastInterface('127.0.0.1');
  send.setMulticastLoopback(true);
  const beats = [...heard.values()];
  const timers = beats.map((bytes, i) => {
    const start = setTimeout(() => {
      send.send(bytes, port, group);
      timers[i] = setInterval(() => send.send(bytes, port, group), periodMs);
    }, (i * periodMs) / beats.length);
    return start;
  });
  return {
    peers: beats.length,
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((r) => send.close(() => r()));
    },
  };
}

/**
 * RSS and idle CPU of an agent whose directory holds 5,000 devices from 100 agents, as the unit runs
 * it and with Node's defaults, side by side: each joins the site, takes in every device (CPU, time,
 * peak memory), settles, then idles on the site's heartbeats, replayed, next to a bare Node process
 * that receives the same datagrams (the floor any Node agent pays for them on this machine).
 */
export async function memoryAt5000(dir: string, timing: { settleSeconds: number; idleSeconds: number }): Promise<NonNullable<ServiceResults['memory']>> {
  const port = 32000 + (process.pid % 1000);
  const profiles = await profilesDir(dir, 5);
  const siteName = `b${port}`;
  const site = await startHerald({ agents: 100, devicesPerAgent: 50, loss: 0, heartbeatMs: 1000, seed: 5, port }, 'multicast');
  const started: Measured[] = [];
  let replay: { stop: () => Promise<void> } | undefined;
  let floor: ChildProcess | undefined;
  try {
    // Every device of the site: 100 agents of 50, and the two measured agents' 5 each.
    const expected = 100 * 50 + 2 * 5;
    const unit = await startMeasured('measured-unit', siteName, port, profiles, unitNodeFlags());
    started.push(unit);
    const defaults = await startMeasured('measured-defaults', siteName, port, profiles, []);
    started.push(defaults);
    const sync = [await untilHolds(unit, expected), await untilHolds(defaults, expected)];
    await sleep(timing.settleSeconds * 1000);

    replay = await replayHeartbeats(port, siteName, started.map((_, i) => (i === 0 ? 'measured-unit' : 'measured-defaults')), 1000);
    for (let i = 0; i < 100; i++) await site.crash(i); // silent from now on: no goodbye, the replay speaks for them
    floor = spawn(process.execPath, [...unitNodeFlags(), '-e', `
      const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true });
      s.on('message', () => {});
      s.bind(${port}, '239.255.70.70', () => s.addMembership('239.255.70.70', '127.0.0.1'));`], { stdio: 'ignore' });
    await sleep(3000);
    const pids = [unit.proc.pid!, defaults.proc.pid!, floor.pid!];
    const cpu0 = await Promise.all(pids.map(runSeconds));
    const w0 = now();
    const rss: number[][] = [[], []];
    while (now() - w0 < timing.idleSeconds * 1000) {
      await sleep(1000);
      rss[0]!.push(await rssMiB(unit.proc.pid!));
      rss[1]!.push(await rssMiB(defaults.proc.pid!));
    }
    const seconds = (now() - w0) / 1000;
    const idle = (await Promise.all(pids.map(runSeconds))).map((c, i) => ((c - cpu0[i]!) / seconds) * 100);
    const footprint = async (m: Measured, i: number): Promise<Footprint> => ({
      rssMiB: median(rss[i]!),
      peakRssMiB: Math.max(m.peak, ...rss[i]!),
      heapUsedMiB: (await gauge(m.api, 'herald_process_heap_used_bytes')) / 2 ** 20,
      idleCpuPercent: idle[i]!,
      aliveAfter: await gauge(m.api, 'herald_agents\\{state="alive"\\}'),
      ...sync[i]!,
    });
    const result = { unit: await footprint(unit, 0), defaults: await footprint(defaults, 1) };
    const bare = spawn(process.execPath, [...unitNodeFlags(), '-e', 'setTimeout(() => {}, 3000)']);
    await sleep(1500);
    const bareRss = await rssMiB(bare.pid!);
    bare.kill();
    return { devices: expected, flags: unitNodeFlags(), ...timing, ...result, floorIdleCpuPercent: idle[2]!, bareNodeRssMiB: bareRss };
  } finally {
    floor?.kill();
    await replay?.stop();
    for (const m of started) await stopProcess(m.proc);
    await site.stop();
  }
}

class Broker {
  proc: ChildProcess | undefined;
  readonly port = 26000 + (process.pid % 1000); // below the ephemeral range
  constructor(private readonly dir: string) {}
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    await chmod(this.dir, 0o777); // as root, mosquitto drops to its own user, which must write its persistence file
    await writeFile(conf, `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${this.dir}/\nlog_type error\n`);
    const proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    this.proc = proc;
    const deadline = Date.now() + 5000;
    for (;;) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start on port ${this.port}`);
      const ok = await new Promise<boolean>((r) => {
        const s = tcpConnect(this.port, '127.0.0.1', () => { s.end(); r(true); });
        s.on('error', () => r(false));
      });
      if (ok) return;
      await sleep(50);
    }
  }
  async stop(): Promise<void> {
    if (this.proc) await stopProcess(this.proc);
    this.proc = undefined;
  }
}

/**
 * A device change on the LAN, through a gateway agent's bridge, to a subscriber of the broker; against
 * a bare MQTT.js publish-to-subscriber round trip in the same run. Then the broker goes away while
 * changes go on: memory is sampled, and after the broker returns no ghost is left.
 */
async function mqttTargets(dir: string, outageSeconds: number, changes: number): Promise<NonNullable<ServiceResults['mqtt']>> {
  const broker = new Broker(dir);
  await broker.start();
  const port = 34000 + (process.pid % 1000);
  const site = await startHerald({ agents: 10, devicesPerAgent: 5, loss: 0, heartbeatMs: 1000, seed: 6, port }, 'multicast', {
    extensions: (i) => (i === 0 ? [new MqttBridge({ url: broker.url, base: 'herald', protocol: '5', mode: 'gateway', homeAssistant: false, importSites: [], retainedWindowMs: 300 })] : []),
  });
  const sub = await mqttPkg.connectAsync(broker.url, { reconnectPeriod: 0 });
  sub.on('error', (err) => {
    throw new Error(`bench subscriber: ${err.message}`);
  });
  try {
    const siteName = `b${port}`;
    const arrivals = new Map<string, number>();
    sub.on('message', (topic, payload) => {
      if (payload.length === 0 || !topic.startsWith('herald/')) return;
      const rec = JSON.parse(payload.toString()) as { agent: string; origin: { version: number } };
      arrivals.set(`${rec.agent}:${rec.origin.version}`, now());
    });
    await sub.subscribeAsync(`herald/${siteName}/devices/#`);
    await sleep(1000);
    const latencies: number[] = [];
    for (let k = 0; k < changes; k++) {
      const i = 1 + (k % 9);
      const name = site.names[i]!;
      const t0 = now();
      const v = await site.change(i, Array.from({ length: 5 }, (_, d) => benchDevice(name, d, d === k % 5 ? k + 1 : 0)));
      const deadline = Date.now() + 2000;
      while (!arrivals.has(`${name}:${v}`) && Date.now() < deadline) await sleep(0.5);
      latencies.push((arrivals.get(`${name}:${v}`) ?? Infinity) - t0);
      await sleep(20);
    }
    // Baseline: publish and receive through the same broker, nothing else.
    const base: number[] = [];
    const sent = new Map<string, number>();
    sub.on('message', (topic) => {
      if (topic === 'bench/echo') base.push(now() - (sent.get('last') ?? now()));
    });
    await sub.subscribeAsync('bench/echo');
    const pub = await mqttPkg.connectAsync(broker.url);
    for (let k = 0; k < 100; k++) {
      sent.set('last', now());
      await pub.publishAsync('bench/echo', String(k), { qos: 1 });
      await sleep(5);
    }
    await pub.endAsync();

    // First fill what is bounded (change logs, event journals: 1,024 events per agent), so that the
    // outage shows growth, not bounded buffers reaching their size.
    let k = 0;
    const change = async () => {
      const i = 1 + (k % 9);
      const name = site.names[i]!;
      await site.change(i, Array.from({ length: 5 }, (_, d) => benchDevice(name, d, d === k % 5 ? 1000 + k : 0)));
      k += 1;
    };
    while (k < 1200) {
      await change();
      if (k % 50 === 0) await sleep(20);
    }
    // The outage: live heap (after a full GC) and RSS while the broker is away and changes go on.
    await sub.endAsync(); // the bench's own subscriber is not needed, and would retry meanwhile
    await broker.stop();
    await sleep(500);
    const heap: number[] = [];
    const rss: number[] = [];
    const sample = async () => {
      await fullGc();
      heap.push(process.memoryUsage().heapUsed / 2 ** 20);
      rss.push(process.memoryUsage().rss / 2 ** 20);
    };
    await sample();
    const t0 = Date.now();
    let lastSample = t0;
    while (Date.now() - t0 < outageSeconds * 1000) {
      await change();
      if (Date.now() - lastSample >= 2500) {
        await sample();
        lastSample = Date.now();
      }
      await sleep(50);
    }
    await sample();
    await broker.start();
    // Give the bridge time to reconnect (backoff up to 30 s) and resync.
    const retained = async () => {
      const c = await mqttPkg.connectAsync(broker.url);
      const seen = new Map<string, string>();
      c.on('message', (t, p, pkt) => pkt.retain && p.length > 0 && seen.set(t, p.toString()));
      await c.subscribeAsync(`herald/${siteName}/devices/#`);
      await sleep(500);
      await c.endAsync();
      return seen;
    };
    let ghosts = -1;
    const until = Date.now() + 40_000;
    while (Date.now() < until) {
      const seen = await retained();
      const truth = new Map(site.agents[0]!.directory.devices({ site: siteName }).map((d) => [`herald/${siteName}/devices/${d.agent}/${d.id}`, d.origin.version]));
      ghosts = [...seen.keys()].filter((t) => !truth.has(t)).length;
      const stale = [...seen].filter(([t, p]) => truth.get(t) !== (JSON.parse(p) as { origin: { version: number } }).origin.version).length;
      if (ghosts === 0 && stale === 0 && seen.size === truth.size) break;
      await sleep(1000);
    }
    const growth = (xs: number[]) => xs[xs.length - 1]! - xs[0]!;
    const s = summarize(latencies);
    return { p99Ms: s.p99, p50Ms: s.p50, baselineP99Ms: summarize(base).p99, outageSeconds, heapGrowthMiB: growth(heap), rssGrowthMiB: growth(rss), samples: heap.length, ghostsAfter: ghosts };
  } finally {
    await sub.endAsync().catch(() => {});
    await site.stop();
    await broker.stop();
  }
}

export async function serviceTargets(opts: { quick: boolean; outageSeconds: number; progress: (what: string) => void }): Promise<ServiceResults> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-bench-'));
  const results: ServiceResults = { skipped: [] };
  try {
    if (available('python3', ['-c', '0'])) {
      opts.progress('systemd: process start to READY');
      results.readyMs = await readyTimes(dir, opts.quick ? 3 : 7);
    } else results.skipped.push('start to READY (needs python3 for the notify socket)');
    if (!opts.quick) {
      opts.progress('systemd: RSS and idle CPU with 5,000 devices from 100 agents');
      results.memory = await memoryAt5000(dir, { settleSeconds: 8, idleSeconds: 30 });
    } else results.skipped.push('RSS with 5,000 devices (full run only)');
    if (available('mosquitto', ['-h']) || available('sh', ['-c', 'command -v mosquitto'])) {
      opts.progress(`MQTT: latency to the broker, then a ${opts.outageSeconds} s broker outage`);
      results.mqtt = await mqttTargets(dir, opts.outageSeconds, opts.quick ? 40 : 200);
    } else results.skipped.push('MQTT (needs mosquitto)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
