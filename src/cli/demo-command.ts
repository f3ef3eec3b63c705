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
import { OptionError } from '../config/options.js';
import { parseCommandArgs } from './args.js';

const HELP = `Usage: herald demo [--agents N] [--interval MS] [--loss PERCENT] [--duration S] [--api HOST:PORT]

Starts N agents in this process on loopback (site 'demo', so it never mixes with real agents), then
changes a random agent's devices every interval and shows how fast each change reaches every agent.
Agent demo-1 serves the local API (default 127.0.0.1:7755): try curl, herald ls or herald watch.
  --loss PERCENT   drop that share of received datagrams, to watch catch-up repair it
  --duration S     stop after S seconds (default: run until Ctrl-C)`;

export async function runDemoCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('demo', argv, {
    agents: { type: 'string' },
    interval: { type: 'string' },
    loss: { type: 'string' },
    duration: { type: 'string' },
    api: { type: 'string' },
    profiles: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const count = intOption(values.agents, 'agents', 5, 1, 50);
  const interval = intOption(values.interval, 'interval', 1500, 50, 60_000);
  const loss = intOption(values.loss, 'loss', 0, 0, 90) / 100;
  const duration = values.duration === undefined ? undefined : intOption(values.duration, 'duration', 0, 1, 86_400);
  const [apiHost, apiPort] = ((values.api as string | undefined) ?? '127.0.0.1:7755').split(':');
  const samples = await sampleDevices((values.profiles as string | undefined) ?? './device-profiles');

  const clock = systemClock();
  const random = seededRandom(Date.now() >>> 0);
  const logger = createLogger({ level: 'warn', format: 'pretty', destination: process.stderr });
  const sources: MemoryProfileSource[] = [];
  const agents: Agent[] = [];
  const t0 = clock.monotonic();
  const stamp = () => `[${((clock.monotonic() - t0) / 1000).toFixed(1).padStart(5)}s]`;

  for (let i = 1; i <= count; i++) {
    const devices = pick(samples, 2 + (i % 2), i).map((d) => ({ ...d, location: `demo host ${i}` }));
    const source = new MemoryProfileSource(devices);
    sources.push(source);
    const udp = new UdpMulticastTransport({ group: '239.255.70.70', port: 7770, interfaceAddress: '127.0.0.1' });
    const agent = new Agent(
      {
        clock,
        random,
        logger: logger.child({ agent: `demo-${i}` }),
        profiles: source,
        transport: loss > 0 ? withReceiveLoss(udp, () => loss, random) : udp,
        peers: new HttpPeerClient(),
        peerListener: (service) => {
          const server = new PeerHttpServer(service, { host: '127.0.0.1', port: 0 });
          return { start: async () => (await server.start()).port, stop: () => server.stop() };
        },
      },
      {
        name: `demo-${i}`,
        site: 'demo',
        incarnation: clock.now() + i,
        address: '127.0.0.1',
        host: 'localhost',
        api: i === 1 ? { host: apiHost, port: Number(apiPort) } : null,
      },
    );
    try {
      await agent.start();
    } catch (err) {
      if (i === 1 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        process.stderr.write(
          `herald demo: ${apiHost}:${apiPort} is taken (an agent running?); pass --api 127.0.0.1:PORT\n`,
        );
        await agent.stop({ goodbye: false });
        return 69;
      }
      throw err;
    }
    agents.push(agent);
  }
  const api = agents[0].apiEndpoint;
  process.stdout.write(
    `herald demo: ${count} agents on loopback, site 'demo', ${loss * 100}% datagram loss; API of demo-1 at http://${api?.address}:${api?.port}\n`,
  );
  const expected = () => agents.reduce((n, a) => n + a.local.devices().length, 0);
  await until(() => agents.every((a) => a.directory.devices().length === expected()), 10_000);
  process.stdout.write(`${stamp()} every agent holds all ${expected()} devices of ${count} agents\n`);

  let running = true;
  let changes = 0;
  const finish = new Promise<void>((resolve) => {
    const end = () => {
      running = false;
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
    if (duration) setTimeout(end, duration * 1000).unref();
  });
  const loop = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, interval));
      if (!running) break;
      const i = Math.floor(random() * count);
      const origin = agents[i];
      const before = origin.local.devices();
      const { devices, what } = mutate(before, samples, random, ++changes);
      sources[i].set(devices);
      await origin.reload('demo');
      const version = origin.local.currentVersion;
      const started = clock.monotonic();
      const reached = await until(
        () => agents.every((a) => (a.directory.held(origin.name)?.version ?? 0) >= version),
        10_000,
      );
      const ms = clock.monotonic() - started;
      const on = agents.filter((a) => (a.directory.held(origin.name)?.version ?? 0) >= version).length;
      process.stdout.write(
        `${stamp()} ${origin.name} v${version}: ${what.padEnd(34)} -> on ${on}/${count} agents in ${reached ? ms.toFixed(1) + ' ms' : 'more than 10 s'}\n`,
      );
    }
  })();
  await finish;
  await loop;
  for (const a of agents.reverse()) await a.stop();
  process.stdout.write(`herald demo: stopped after ${changes} changes\n`);
  return 0;
}

function intOption(raw: unknown, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || n < min || n > max)
    throw new OptionError(`demo: --${name} must be a whole number from ${min} to ${max}; got '${String(raw)}'`);
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
