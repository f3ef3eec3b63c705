import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

export interface ServiceResults {
  readyMs?: { herald: number; bareNode: number };
  memory?: { devices: number; rssMiB: number; aloneRssMiB: number; idleCpuPercent: number; aloneIdleCpuPercent: number; heapUsedMiB: number; flags: string[]; bareNodeRssMiB: number };
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

function agentProcess(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [...unitNodeFlags(), CLI, 'agent', '--log-format', 'json', '--log-level', 'warn', '--interface', 'lo', '--discovery', 'multicast', ...args], {
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

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100)
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

/** RSS and idle CPU of an agent process whose directory holds 5,000 devices from 100 agents. */
async function memoryAt5000(dir: string, idleSeconds: number): Promise<NonNullable<ServiceResults['memory']>> {
  const port = 32000 + (process.pid % 1000);
  const profiles = await profilesDir(dir, 5);
  // Alone first: the baseline of the same process with nothing but its own devices.
  const alone = agentProcess(['--name', 'alone', '--site', `m${port}x`, '--group', `239.255.70.70:${port + 1}`, '--api', '127.0.0.1:0', '--peer-port', '0', '--profiles', profiles]);
  await sleep(1500);
  const cpuA0 = await cpuSeconds(alone.pid!);
  await sleep(idleSeconds * 1000);
  const aloneIdle = ((await cpuSeconds(alone.pid!)) - cpuA0) / idleSeconds * 100;
  const aloneRss = await rssMiB(alone.pid!);
  await stopProcess(alone);

  const site = await startHerald({ agents: 100, devicesPerAgent: 50, loss: 0, heartbeatMs: 1000, seed: 5, port }, 'multicast');
  const measured = agentProcess(['--name', 'measured', '--site', `b${port}`, '--group', `239.255.70.70:${port}`, '--api', '127.0.0.1:0', '--peer-port', '0', '--profiles', profiles, '--log-level', 'info']);
  try {
    let api: string | undefined;
    let out = '';
    measured.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"msg":"agent started".*?"api":"([^"]+)"/.exec(out) ?? /"api":"([^"]+)".*?"msg":"agent started"/.exec(out);
      if (m) api = m[1];
    });
    while (!api) await sleep(20);
    const deadline = Date.now() + 60_000;
    let count = 0;
    while (count < 5005 && Date.now() < deadline) {
      await sleep(250);
      const res = await request(`http://${api}/v1/devices`);
      count = ((await res.body.json()) as { count: number }).count;
    }
    await sleep(2000);
    const cpu0 = await cpuSeconds(measured.pid!);
    await sleep(idleSeconds * 1000);
    const idle = ((await cpuSeconds(measured.pid!)) - cpu0) / idleSeconds * 100;
    const metrics = await (await request(`http://${api}/metrics`)).body.text();
    const heapUsed = Number(/^herald_process_heap_used_bytes (\d+)/m.exec(metrics)?.[1] ?? NaN) / 2 ** 20;
    const bare = spawn(process.execPath, [...unitNodeFlags(), '-e', 'setTimeout(() => {}, 3000)']);
    await sleep(1500);
    const bareRss = await rssMiB(bare.pid!);
    bare.kill();
    return { devices: count, rssMiB: await rssMiB(measured.pid!), aloneRssMiB: aloneRss, idleCpuPercent: idle, aloneIdleCpuPercent: aloneIdle, heapUsedMiB: heapUsed, flags: unitNodeFlags(), bareNodeRssMiB: bareRss };
  } finally {
    await stopProcess(measured);
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
      results.memory = await memoryAt5000(dir, 10);
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
