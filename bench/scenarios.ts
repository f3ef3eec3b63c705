import { benchDevice, type BenchCluster, type BenchSystem, type ClusterOptions } from './system.js';
import { summarize } from './stats.js';

export interface PropagationResult {
  system: string;
  agents: number;
  loss: number;
  changes: number;
  latencyMs: { p50: number; p99: number; max: number; n: number };
  undelivered: number;
  datagramsPerChange: number;
  wireBytesPerChangePerReceiver: number;
  httpRequestsPerChange: number;
  cpuMsPerChange: number;
}

export interface IdleResult {
  system: string;
  agents: number;
  bytesPerSecondPerAgent: number;
  httpRequestsPerSecond: number;
  cpuPercentOfCore: number;
}

export interface ColdStartResult {
  system: string;
  agents: number;
  convergedMs: number;
  maxServed: number;
}

export interface CrashResult {
  system: string;
  agents: number;
  lostEverywhereMs: number;
}

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let portSeq = 0;
function freshPort(): number {
  portSeq = (portSeq + 1) % 1000;
  return 30000 + ((process.pid * 7 + portSeq * 13) % 20000);
}

async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 5): Promise<number | undefined> {
  const t0 = now();
  while (!cond()) {
    if (now() - t0 > timeoutMs) return undefined;
    await sleep(stepMs);
  }
  return now() - t0;
}

async function withCluster<T>(
  system: BenchSystem,
  opts: Omit<ClusterOptions, 'port'>,
  fn: (c: BenchCluster, startedMs: number) => Promise<T>,
): Promise<T> {
  const t0 = now();
  const cluster = await system.start({ ...opts, port: freshPort() });
  try {
    return await fn(cluster, t0);
  } finally {
    await cluster.stop();
    await sleep(50);
  }
}

/** Idle traffic after convergence: what the site pays when nothing changes. */
export async function idle(
  system: BenchSystem,
  agents: number,
  seconds: number,
  heartbeatMs: number,
): Promise<IdleResult> {
  return withCluster(system, { agents, devicesPerAgent: 5, loss: 0, heartbeatMs, seed: 1 }, async (c) => {
    await waitFor(() => c.converged(), 20_000);
    await sleep(heartbeatMs * 2.2); // steady state: start-up hints ride on heartbeats for two periods
    const before = c.traffic();
    const cpu0 = process.cpuUsage();
    const t0 = now();
    await sleep(seconds * 1000);
    const elapsed = (now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const after = c.traffic();
    const bytes = after.datagramBytes - before.datagramBytes + after.httpBytes - before.httpBytes;
    return {
      system: system.name,
      agents,
      bytesPerSecondPerAgent: bytes / elapsed / agents,
      httpRequestsPerSecond: (after.httpRequests - before.httpRequests) / elapsed,
      cpuPercentOfCore: ((cpu.user + cpu.system) / 1000 / (elapsed * 1000)) * 100,
    };
  });
}

/**
 * `changes` changes spread over the origins (one device updated each time), then the time until each
 * other agent holds each change. A change not held everywhere 30 s later is counted undelivered.
 */
export async function propagation(
  system: BenchSystem,
  agents: number,
  loss: number,
  changes: number,
  intervalMs: number,
  heartbeatMs: number,
  seed = 42,
): Promise<PropagationResult> {
  return withCluster(system, { agents, devicesPerAgent: 5, loss, heartbeatMs, seed }, async (c) => {
    await waitFor(() => c.converged(), 30_000);
    await sleep(heartbeatMs);
    const pending: { origin: string; version: number; at: number; waiting: Set<number> }[] = [];
    const latencies: number[] = [];
    const check = (viewer: number, origin: string) => {
      for (const p of pending) {
        if (p.origin !== origin || !p.waiting.has(viewer)) continue;
        if (c.held(viewer, origin) >= p.version) {
          p.waiting.delete(viewer);
          latencies.push(now() - p.at);
        }
      }
    };
    c.onProgress(check);
    const sweep = setInterval(() => {
      for (const p of pending) for (const v of p.waiting) check(v, p.origin);
    }, 20);

    // The cluster's own idle CPU rate, so that CPU per change is what changes cost, not the heartbeats.
    const idle0 = process.cpuUsage();
    const idleT0 = now();
    await sleep(1500);
    const idleCpu = process.cpuUsage(idle0);
    const idleCpuMsPerMs = (idleCpu.user + idleCpu.system) / 1000 / (now() - idleT0);
    const revision = new Array<number>(agents).fill(0);
    let rng = seed;
    const random = () => (rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648;
    const before = c.traffic();
    const cpu0 = process.cpuUsage();
    const churnT0 = now();
    for (let k = 0; k < changes; k++) {
      const i = Math.floor(random() * agents);
      revision[i] += 1;
      const name = c.names[i];
      const devices = Array.from({ length: 5 }, (_, d) =>
        benchDevice(name, d, d === revision[i] % 5 ? revision[i] : 0),
      );
      const at = now();
      const version = await c.change(i, devices);
      const waiting = new Set(c.names.map((_, v) => v).filter((v) => v !== i));
      pending.push({ origin: name, version, at, waiting });
      for (const v of [...waiting]) check(v, name);
      await sleep(intervalMs);
    }
    const delivered = await waitFor(
      () => pending.every((p) => p.waiting.size === 0 || now() - p.at > 30_000),
      31_000,
      10,
    );
    delivered;
    const cpu = process.cpuUsage(cpu0);
    const churnMs = now() - churnT0;
    const after = c.traffic();
    clearInterval(sweep);
    const receivers = agents - 1;
    return {
      system: system.name,
      agents,
      loss,
      changes,
      latencyMs: summarize(latencies),
      undelivered: pending.filter((p) => p.waiting.size > 0).length,
      datagramsPerChange: (after.changeDatagrams - before.changeDatagrams) / changes,
      wireBytesPerChangePerReceiver: (after.changeBytes - before.changeBytes) / changes / receivers,
      httpRequestsPerChange: (after.httpRequests - before.httpRequests) / changes,
      cpuMsPerChange: Math.max(0, (cpu.user + cpu.system) / 1000 - idleCpuMsPerMs * churnMs) / changes,
    };
  });
}

/** All agents started at once: time until every directory holds every origin. */
export async function coldStart(system: BenchSystem, agents: number, heartbeatMs: number): Promise<ColdStartResult> {
  const t0 = now();
  const cluster = await system.start({ agents, devicesPerAgent: 5, loss: 0, heartbeatMs, seed: 3, port: freshPort() });
  try {
    const took = await waitFor(() => cluster.converged(), 30_000);
    return {
      system: system.name,
      agents,
      convergedMs: took === undefined ? Infinity : now() - t0,
      maxServed: cluster.maxServed(),
    };
  } finally {
    await cluster.stop();
    await sleep(50);
  }
}

/** One agent crashes (no goodbye): time until every other agent shows it lost. */
export async function crash(system: BenchSystem, agents: number, heartbeatMs: number): Promise<CrashResult> {
  return withCluster(system, { agents, devicesPerAgent: 5, loss: 0, heartbeatMs, seed: 4 }, async (c) => {
    await waitFor(() => c.converged(), 20_000);
    await sleep(heartbeatMs * (1 + Math.random()));
    const victim = c.names[0];
    await c.crash(0);
    const t0 = now();
    const took = await waitFor(() => c.names.every((_, v) => v === 0 || c.state(v, victim) === 'lost'), 12_000);
    return { system: system.name, agents, lostEverywhereMs: took === undefined ? Infinity : now() - t0 };
  });
}

export interface FloodResult {
  agents: number;
  junkPerSecond: number;
  changes: number;
  latencyMs: { p50: number; p99: number; max: number; n: number };
  undelivered: number;
  apiMs: { p50: number; p99: number; max: number; n: number };
  apiFailures: number;
  convergedAfter: boolean;
  dropped: number;
}

/**
 * A keyed site under a flood of junk datagrams (random bytes and mutations of real ones) on its group,
 * while changes go on: does it stay converged, and does agent 0 still answer its local API?
 */
export async function junkFlood(
  start: (opts: ClusterOptions) => Promise<BenchCluster & { agents: import('../src/agent/agent.js').Agent[] }>,
  agents: number,
  junkPerSecond: number,
  seconds: number,
  heartbeatMs: number,
): Promise<FloodResult> {
  const { createSocket } = await import('node:dgram');
  const { request } = await import('undici');
  const port = freshPort();
  const c = await start({ agents, devicesPerAgent: 5, loss: 0, heartbeatMs, seed: 9, port });
  const captured: Buffer[] = [];
  const tap = createSocket({ type: 'udp4', reuseAddr: true });
  const flooder = createSocket({ type: 'udp4', reuseAddr: true });
  try {
    await new Promise<void>((r) => tap.bind(port, '239.255.70.70', () => r()));
    tap.addMembership('239.255.70.70', '127.0.0.1');
    tap.on('message', (m) => captured.length < 100 && captured.push(m));
    await new Promise<void>((r) => flooder.bind(0, '127.0.0.1', () => r()));
    flooder.setMulticastInterface('127.0.0.1');
    flooder.setMulticastTTL(1);
    await waitFor(() => c.converged(), 20_000);
    await sleep(heartbeatMs);
    let rng = 12345;
    const random = () => (rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648;
    let sent = 0;
    const flood = setInterval(() => {
      for (let k = 0; k < junkPerSecond / 100; k++) {
        let junk: Buffer;
        if (captured.length > 0 && random() < 0.7) {
          junk = Buffer.from(captured[Math.floor(random() * captured.length)]);
          junk[Math.floor(random() * junk.length)] ^= 1 + Math.floor(random() * 255);
        } else
          junk = Buffer.from(Array.from({ length: 20 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
        flooder.send(junk, port, '239.255.70.70');
        sent += 1;
      }
    }, 10);
    const api = c.agents[0].apiEndpoint!;
    const apiTimes: number[] = [];
    let apiFailures = 0;
    let probing = true;
    const apiLoop = (async () => {
      while (probing) {
        const t0 = now();
        try {
          const res = await request(`http://127.0.0.1:${api.port}/v1/devices`, { signal: AbortSignal.timeout(2000) });
          await res.body.dump();
          if (res.statusCode === 200) apiTimes.push(now() - t0);
          else apiFailures += 1;
        } catch {
          apiFailures += 1;
        }
        await sleep(50);
      }
    })();
    const t0 = now();
    const latencies: number[] = [];
    const pending: { origin: string; version: number; at: number; waiting: Set<number> }[] = [];
    let changes = 0;
    while (now() - t0 < seconds * 1000) {
      const i = changes % agents;
      const name = c.names[i];
      const devices = Array.from({ length: 5 }, (_, d) => benchDeviceFor(name, d, changes));
      const at = now();
      const version = await c.change(i, devices);
      pending.push({ origin: name, version, at, waiting: new Set(c.names.map((_, v) => v).filter((v) => v !== i)) });
      changes += 1;
      await sleep(100);
      for (const p of pending)
        for (const v of [...p.waiting])
          if (c.held(v, p.origin) >= p.version) {
            p.waiting.delete(v);
            latencies.push(now() - p.at);
          }
    }
    clearInterval(flood);
    const elapsed = (now() - t0) / 1000;
    await waitFor(() => pending.every((p) => [...p.waiting].every((v) => c.held(v, p.origin) >= p.version)), 10_000);
    for (const p of pending)
      for (const v of [...p.waiting])
        if (c.held(v, p.origin) >= p.version) {
          p.waiting.delete(v);
          latencies.push(now() - p.at);
        }
    probing = false;
    await apiLoop;
    const dropped =
      c.agents.reduce(
        (n, a) =>
          n +
          [...a.metrics.registry.render().matchAll(/^herald_decode_errors_total\{[^}]*\} (\d+)$/gm)].reduce(
            (m, x) => m + Number(x[1]),
            0,
          ),
        0,
      ) / agents;
    return {
      agents,
      junkPerSecond: sent / elapsed,
      changes,
      latencyMs: summarize(latencies),
      undelivered: pending.filter((p) => p.waiting.size > 0).length,
      apiMs: summarize(apiTimes),
      apiFailures,
      convergedAfter: (await waitFor(() => c.converged(), 5000)) !== undefined,
      dropped,
    };
  } finally {
    tap.close();
    flooder.close();
    await c.stop();
  }
}

function benchDeviceFor(agent: string, k: number, revision: number) {
  return benchDevice(agent, k, k === revision % 5 ? revision : 0);
}

/**
 * CPU per change of the protocol itself, open against keyed: agents on the in-memory network with the
 * fake clock and heartbeats off, so that the only work is announcing, sealing, opening, decoding and
 * applying each change on every receiver. No sockets or timers to add noise; the same seed for both.
 */
export async function protocolCpuPerChange(agents: number, changes: number, keyed: boolean): Promise<number> {
  const { Agent } = await import('../src/agent/agent.js');
  const { MemoryProfileSource } = await import('../src/profiles/source.js');
  const { MemoryNetwork } = await import('../src/transport/memory-network.js');
  const { FakeClock } = await import('../src/util/clock.js');
  const { seededRandom } = await import('../src/util/random.js');
  const { createLogger } = await import('../src/util/logger.js');
  const { HmacEnvelope } = await import('../src/protocol/hmac-envelope.js');
  const { generateKey, parseKeyRing } = await import('../src/security/cluster-key.js');
  const clock = new FakeClock();
  const random = seededRandom(77);
  const network = new MemoryNetwork({ clock, random });
  const keys = keyed ? parseKeyRing(generateKey()) : undefined;
  const logger = createLogger({ level: 'silent' });
  const nodes: { agent: InstanceType<typeof Agent>; source: InstanceType<typeof MemoryProfileSource> }[] = [];
  for (let i = 0; i < agents; i++) {
    const address = `10.9.${i >> 8}.${i & 255}`;
    const name = `agent-${i}`;
    const source = new MemoryProfileSource(Array.from({ length: 5 }, (_, k) => benchDevice(name, k)));
    const agent = new Agent(
      {
        clock,
        random,
        logger,
        profiles: source,
        transport: network.datagramTransport(address),
        peers: network.peerClient(address),
        envelope: keys && new HmacEnvelope(keys, clock),
        peerListener: (service) => ({
          start: async () => {
            network.servePeer({ address, port: 7771 }, service);
            return 7771;
          },
          stop: async () => {},
        }),
      },
      { name, site: 'cpu', incarnation: 1000 + i, address, host: name, heartbeatMs: 600_000, api: null },
    );
    await agent.start();
    nodes.push({ agent, source });
  }
  await clock.advance(2000);
  const cpu0 = process.cpuUsage();
  for (let k = 0; k < changes; k++) {
    const i = k % agents;
    const name = `agent-${i}`;
    nodes[i].source.set(Array.from({ length: 5 }, (_, d) => benchDevice(name, d, d === k % 5 ? k + 1 : 0)));
    await nodes[i].agent.reload('bench');
    await clock.advance(5);
  }
  const cpu = process.cpuUsage(cpu0);
  for (const n of nodes) await n.agent.stop({ goodbye: false });
  return (cpu.user + cpu.system) / 1000 / changes;
}
