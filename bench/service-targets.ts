import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPkg from 'mqtt';
import { MqttBridge } from '../src/mqtt/bridge.js';
import { agentProcess, now, profilesDir, sleep, stopProcess } from './agent-process.js';
import { benchDevice } from './system.js';
import { memoryAt5000, type MemoryResults } from './footprint.js';
import { fullGc, median, summarize } from './stats.js';
import { startHerald } from './systems/herald.js';

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
  memory?: MemoryResults;
  mqtt?: {
    p99Ms: number;
    p50Ms: number;
    baselineP99Ms: number;
    outageSeconds: number;
    heapGrowthMiB: number;
    rssGrowthMiB: number;
    samples: number;
    ghostsAfter: number;
  };
  skipped: string[];
}

/** A unix datagram socket standing in for systemd (python3; Node has no such sockets). */
async function notifySocket(dir: string): Promise<{ path: string; onReady: () => Promise<number>; close: () => void }> {
  const path = join(dir, `n${Math.random().toString(36).slice(2)}.sock`);
  const proc = spawn('python3', ['test/helpers/notify_socket.py', path], { stdio: ['ignore', 'pipe', 'ignore'] });
  let listening = false;
  let readyAt: number | undefined;
  proc.stdout.on('data', (c: Buffer) => {
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
/** Process start to READY=1, against a bare `node -e 0` start measured in the same run. */
async function readyTimes(dir: string, runs: number): Promise<{ herald: number; bareNode: number }> {
  const profiles = await profilesDir(dir, 5);
  const herald: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    const sock = await notifySocket(dir);
    const t0 = now();
    const p = agentProcess(
      [
        '--name',
        `ready-${i}`,
        '--site',
        `ready${process.pid}`,
        '--group',
        `239.255.70.70:${31000 + i}`,
        '--api',
        '127.0.0.1:0',
        '--peer-port',
        '0',
        '--profiles',
        profiles,
      ],
      { NOTIFY_SOCKET: sock.path },
    );
    herald.push((await sock.onReady()) - t0);
    await stopProcess(p);
    sock.close();
    const b0 = now();
    await new Promise<void>((r) => spawn(process.execPath, ['-e', '0']).once('exit', () => r()));
    bare.push(now() - b0);
  }
  return { herald: median(herald), bareNode: median(bare) };
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
    await writeFile(
      conf,
      `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${this.dir}/\nlog_type error\n`,
    );
    const proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    this.proc = proc;
    const deadline = Date.now() + 5000;
    for (;;) {
      if (proc.exitCode !== null || Date.now() > deadline)
        throw new Error(`mosquitto did not start on port ${this.port}`);
      const ok = await new Promise<boolean>((r) => {
        const s = tcpConnect(this.port, '127.0.0.1', () => {
          s.end();
          r(true);
        });
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
async function mqttTargets(
  dir: string,
  outageSeconds: number,
  changes: number,
): Promise<NonNullable<ServiceResults['mqtt']>> {
  const broker = new Broker(dir);
  await broker.start();
  const port = 34000 + (process.pid % 1000);
  const site = await startHerald(
    { agents: 10, devicesPerAgent: 5, loss: 0, heartbeatMs: 1000, seed: 6, port },
    'multicast',
    {
      extensions: (i) =>
        i === 0
          ? [
              new MqttBridge({
                url: broker.url,
                base: 'herald',
                protocol: '5',
                mode: 'gateway',
                homeAssistant: false,
                importSites: [],
                retainedWindowMs: 300,
              }),
            ]
          : [],
    },
  );
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
      const name = site.names[i];
      const t0 = now();
      const v = await site.change(
        i,
        Array.from({ length: 5 }, (_, d) => benchDevice(name, d, d === k % 5 ? k + 1 : 0)),
      );
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
      const name = site.names[i];
      await site.change(
        i,
        Array.from({ length: 5 }, (_, d) => benchDevice(name, d, d === k % 5 ? 1000 + k : 0)),
      );
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
      const truth = new Map(
        site.agents[0].directory
          .devices({ site: siteName })
          .map((d) => [`herald/${siteName}/devices/${d.agent}/${d.id}`, d.origin.version]),
      );
      ghosts = [...seen.keys()].filter((t) => !truth.has(t)).length;
      const stale = [...seen].filter(
        ([t, p]) => truth.get(t) !== (JSON.parse(p) as { origin: { version: number } }).origin.version,
      ).length;
      if (ghosts === 0 && stale === 0 && seen.size === truth.size) break;
      await sleep(1000);
    }
    const growth = (xs: number[]) => xs[xs.length - 1] - xs[0];
    const s = summarize(latencies);
    return {
      p99Ms: s.p99,
      p50Ms: s.p50,
      baselineP99Ms: summarize(base).p99,
      outageSeconds,
      heapGrowthMiB: growth(heap),
      rssGrowthMiB: growth(rss),
      samples: heap.length,
      ghostsAfter: ghosts,
    };
  } finally {
    await sub.endAsync().catch(() => {});
    await site.stop();
    await broker.stop();
  }
}

export async function serviceTargets(opts: {
  quick: boolean;
  outageSeconds: number;
  progress: (what: string) => void;
}): Promise<ServiceResults> {
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
