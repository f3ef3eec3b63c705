import { Agent } from '../agent/agent.js';
import { PeerHttpServer } from '../http/peer-server.js';
import { loadProfileDir } from '../profiles/load.js';
import type { Device } from '../profiles/model.js';
import { MemoryProfileSource } from '../profiles/source.js';
import { HttpPeerClient } from '../transport/http-peer-client.js';
import { withReceiveLoss } from '../transport/lossy.js';
import { UdpMulticastTransport } from '../transport/udp-multicast.js';
import { systemClock } from '../util/clock.js';
import { createLogger } from '../util/logger.js';
import { seededRandom } from '../util/random.js';
import { parseHostPort } from '../config/option-values.js';
import { resolveBindAddress } from '../security/loopback.js';
import { EXIT, OptionError, type HostPort } from '../config/options.js';

/**
 * Starts N agents in this process on loopback (site 'demo', on a multicast port of its own, so it never
 * mixes with real agents), then changes a random agent's devices every interval and shows how fast each
 * change reaches every agent. Agent demo-1 serves the local API: 127.0.0.1:7755 when free (so that
 * `herald ls` finds it), else a free port, which it prints.
 */
interface DemoContext {
  clock: ReturnType<typeof systemClock>;
  random: () => number;
  logger: ReturnType<typeof createLogger>;
  loss: number;
  /** A multicast port of the demo's own: real agents on this host never hear it. */
  groupPort: number;
}

export async function runDemoCommand(values: Record<string, unknown>): Promise<number> {
  const count = intOption(values.agents, 'agents', 5, 1, 50);
  const interval = intOption(values.interval, 'interval', 1500, 50, 60_000);
  const loss = intOption(values.loss, 'loss', 0, 0, 90) / 100;
  const duration = values.duration === undefined ? undefined : intOption(values.duration, 'duration', 0, 1, 86_400);
  // Checked before any agent starts: a bad value must not leave half a demo running behind a stack trace.
  const api = values.api === undefined ? undefined : await demoApi(values.api as string);
  const samples = await sampleDevices((values.profiles as string | undefined) ?? './device-profiles');
  const random = seededRandom(Date.now() >>> 0);
  const ctx: DemoContext = {
    clock: systemClock(),
    random,
    logger: createLogger({ level: 'warn', format: 'pretty', destination: process.stderr }),
    loss,
    groupPort: 20_000 + Math.floor(random() * 12_000),
  };
  const sources = Array.from(
    { length: count },
    (_, k) =>
      new MemoryProfileSource(
        pick(samples, 2 + ((k + 1) % 2), k + 1).map((d) => ({ ...d, location: `demo host ${k + 1}` })),
      ),
  );
  const agents = await startDemoAgents(ctx, sources, api);
  if (!agents) return EXIT.unavailable;
  const t0 = ctx.clock.monotonic();
  const stamp = () => `[${((ctx.clock.monotonic() - t0) / 1000).toFixed(1).padStart(5)}s]`;
  const served = agents[0].apiEndpoint;
  const where = `http://${served?.address ?? ''}:${served?.port ?? ''}`;
  process.stdout.write(
    `herald demo: ${count} agents on loopback, site 'demo', ${loss * 100}% datagram loss; API of demo-1 at ${where}\n`,
  );
  if (served && served.port !== 7755) process.stdout.write(`  try: herald ls --api ${served.address}:${served.port}\n`);
  const expected = () => agents.reduce((n, a) => n + a.local.devices().length, 0);
  await until(() => agents.every((a) => a.directory.devices().length === expected()), 10_000);
  process.stdout.write(`${stamp()} every agent holds all ${expected()} devices of ${count} agents\n`);
  const changes = await runChanges(ctx, { agents, sources, samples, interval, duration, stamp });
  for (const a of agents.reverse()) await a.stop();
  process.stdout.write(`herald demo: stopped after ${changes} changes\n`);
  return EXIT.ok;
}

/**
 * Starts the agents; demo-1 serves the API on --api, else on 7755 when it is free, else on a free port
 * (the demo runs beside `npm start`). Undefined when the --api asked for is taken.
 */
async function startDemoAgents(ctx: DemoContext, sources: MemoryProfileSource[], api: HostPort | undefined) {
  const agents: Agent[] = [];
  const { host, port } = api ?? { host: '127.0.0.1', port: 7755 };
  for (let i = 1; i <= sources.length; i++) {
    let agent = demoAgent(ctx, i, sources[i - 1], i === 1 ? { host, port } : null);
    try {
      await agent.start();
    } catch (err) {
      if (i !== 1 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      await agent.stop({ goodbye: false });
      if (api) {
        process.stderr.write(
          `herald demo: ${host}:${port} is taken (an agent running?); pass another --api 127.0.0.1:PORT\n`,
        );
        return undefined;
      }
      agent = demoAgent(ctx, i, sources[i - 1], { host, port: 0 });
      await agent.start();
    }
    agents.push(agent);
  }
  return agents;
}

function demoAgent(
  ctx: DemoContext,
  i: number,
  source: MemoryProfileSource,
  api: { host: string; port: number } | null,
) {
  const { clock, random, loss } = ctx;
  const udp = new UdpMulticastTransport({ group: '239.255.70.70', port: ctx.groupPort, interfaceAddress: '127.0.0.1' });
  return new Agent(
    {
      clock,
      random,
      logger: ctx.logger.child({ agent: `demo-${i}` }),
      profiles: source,
      transport: loss > 0 ? withReceiveLoss(udp, () => loss, random) : udp,
      peers: new HttpPeerClient(),
      peerListener: (service) => {
        const server = new PeerHttpServer(service, { host: '127.0.0.1', port: 0 });
        return { start: async () => (await server.start()).port, stop: () => server.stop() };
      },
    },
    { name: `demo-${i}`, site: 'demo', incarnation: clock.now() + i, address: '127.0.0.1', host: 'localhost', api },
  );
}

/** Changes a random agent's devices every interval until Ctrl-C or the duration; returns how many. */
async function runChanges(
  ctx: DemoContext,
  run: {
    agents: Agent[];
    sources: MemoryProfileSource[];
    samples: Device[];
    interval: number;
    duration?: number;
    stamp: () => string;
  },
): Promise<number> {
  const { agents, sources, samples } = run;
  const count = agents.length;
  let running = true;
  const isRunning = () => running; // read through a call: the handlers below change it between awaits
  let changes = 0;
  const finish = new Promise<void>((resolve) => {
    const end = () => {
      running = false;
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
    if (run.duration) setTimeout(end, run.duration * 1000).unref();
  });
  const loop = (async () => {
    while (isRunning()) {
      await new Promise((r) => setTimeout(r, run.interval));
      if (!isRunning()) break;
      const i = Math.floor(ctx.random() * count);
      const origin = agents[i];
      const { devices, what } = mutate(origin.local.devices(), samples, ctx.random, ++changes);
      sources[i].set(devices);
      await origin.reload('demo');
      const version = origin.local.currentVersion;
      const started = ctx.clock.monotonic();
      const has = (a: Agent) => (a.directory.held(origin.name)?.version ?? 0) >= version;
      const reached = await until(() => agents.every(has), 10_000);
      const ms = ctx.clock.monotonic() - started;
      const on = agents.filter(has).length;
      const took = reached ? ms.toFixed(1) + ' ms' : 'more than 10 s';
      process.stdout.write(
        `${run.stamp()} ${origin.name} v${version}: ${what.padEnd(34)} -> on ${on}/${count} agents in ${took}\n`,
      );
    }
  })();
  await finish;
  await loop;
  return changes;
}

/** The demo's API has no token: like the agent's without one, it stays on loopback. */
async function demoApi(text: string): Promise<HostPort> {
  const { host, port } = parseHostPort(text, 'demo: --api', 'hostport');
  const bind = await resolveBindAddress(host).catch(() => ({ address: host, loopback: false }));
  if (!bind.loopback) throw new OptionError(`demo: --api ${text} is beyond loopback; the demo's API has no token`);
  return { host: bind.address, port };
}

function intOption(raw: unknown, name: string, fallback: number, min: number, max: number): number {
  if (typeof raw !== 'string') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new OptionError(`demo: --${name} must be a whole number from ${min} to ${max}; got '${raw}'`);
  return n;
}

async function sampleDevices(dir: string): Promise<Device[]> {
  const set = await loadProfileDir(dir);
  if (set.devices.length > 0 && set.errors.length === 0) return set.devices.map((d) => d.device);
  return [
    {
      id: 'climate',
      name: 'Climate sensor',
      tags: ['environment'],
      names: [],
      capabilities: [{ id: 'temperature', kind: 'property', type: 'temperature', unit: '°C' }],
    },
    {
      id: 'relay',
      name: 'Relay board',
      tags: ['actuator'],
      names: [],
      capabilities: [{ id: 'switch-1', kind: 'property', type: 'switch' }],
    },
    {
      id: 'camera',
      name: 'Camera',
      tags: ['video'],
      names: [],
      capabilities: [{ id: 'stream', kind: 'stream', type: 'video', endpoint: 'rtsp://{address}:554/1' }],
    },
  ];
}

function pick(samples: Device[], n: number, offset: number): Device[] {
  return Array.from({ length: Math.min(n, samples.length) }, (_, k) => {
    const d = samples[(offset + k) % samples.length];
    return { ...d, names: d.names.map((name) => `${name}-${offset}`) };
  });
}

function mutate(
  devices: Device[],
  samples: Device[],
  random: () => number,
  n: number,
): { devices: Device[]; what: string } {
  const roll = random();
  if (devices.length > 1 && roll < 0.3) {
    const gone = devices[Math.floor(random() * devices.length)];
    return { devices: devices.filter((d) => d !== gone), what: `removed ${gone.id}` };
  }
  if (devices.length > 0 && roll < 0.65) {
    const k = Math.floor(random() * devices.length);
    const updated = { ...devices[k], location: `rack ${n}` };
    return { devices: devices.map((d, i) => (i === k ? updated : d)), what: `moved ${updated.id} to rack ${n}` };
  }
  const base = samples[Math.floor(random() * samples.length)];
  const added = { ...base, id: `${base.id.slice(0, 50)}-${n}`, names: [] };
  return { devices: [...devices, added], what: `added ${added.id}` };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 1));
  }
  return true;
}
