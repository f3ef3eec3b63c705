import { createSocket, type Socket } from 'node:dgram';
import { request } from 'undici';
import type { Agent } from '../src/agent/agent.js';
import { generateKey, parseKeyRing, type KeyRing } from '../src/security/cluster-key.js';
import { costlyJunk } from '../test/attacks/costly-junk.js';
import { Deliveries, lcg, now, sleep, waitFor, type ScenarioEnv } from './harness.js';
import { summarize } from './stats.js';
import { changedDevices, type BenchCluster, type ClusterOptions } from './system.js';

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

type FloodCluster = BenchCluster & { agents: Agent[] };
const GROUP = '239.255.70.70';

const bound = (s: Socket, port: number, address: string) => new Promise<void>((r) => s.bind(port, address, () => r()));

/**
 * The site's own datagrams, captured on its group, and a sender of junk: random bytes, mutations of those,
 * and (a third of it) costly junk, announcements crafted to inflate fifty-fold into valid devices, unsigned
 * or with a forged tag under the site's key id: what a keyed agent must refuse before inflating anything.
 */
async function junkSource(
  port: number,
  costly: Buffer[],
): Promise<{ tap: Socket; flooder: Socket; junk: () => Buffer }> {
  const captured: Buffer[] = [];
  const tap = createSocket({ type: 'udp4', reuseAddr: true });
  const flooder = createSocket({ type: 'udp4', reuseAddr: true });
  await bound(tap, port, GROUP);
  tap.addMembership(GROUP, '127.0.0.1');
  tap.on('message', (m) => captured.length < 100 && captured.push(m));
  await bound(flooder, 0, '127.0.0.1');
  flooder.setMulticastInterface('127.0.0.1');
  flooder.setMulticastTTL(1);
  const random = lcg(12345);
  const junk = () => {
    const draw = random();
    if (draw < 1 / 3) return costly[Math.floor(draw * 6) % costly.length];
    if (captured.length > 0 && draw < 0.8) {
      const mutated = Buffer.from(captured[Math.floor(random() * captured.length)]);
      mutated[Math.floor(random() * mutated.length)] ^= 1 + Math.floor(random() * 255);
      return mutated;
    }
    return Buffer.from(Array.from({ length: 20 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
  };
  return { tap, flooder, junk };
}

/** GET /v1/devices on agent 0 every 50 ms until stopped: its times and failures. */
function probeApi(port: number): { stop: () => Promise<{ times: number[]; failures: number }> } {
  const times: number[] = [];
  let failures = 0;
  const state = { probing: true };
  const loop = (async () => {
    while (state.probing) {
      const t0 = now();
      try {
        const res = await request(`http://127.0.0.1:${port}/v1/devices`, { signal: AbortSignal.timeout(2000) });
        await res.body.dump();
        if (res.statusCode === 200) times.push(now() - t0);
        else failures += 1;
      } catch {
        failures += 1;
      }
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      state.probing = false;
      await loop;
      return { times, failures };
    },
  };
}

/** Changes round the agents, 100 ms apart, for `seconds`; returns how many were made. */
async function changesFor(c: FloodCluster, deliveries: Deliveries, seconds: number): Promise<number> {
  const t0 = now();
  let changes = 0;
  while (now() - t0 < seconds * 1000) {
    const i = changes % c.names.length;
    const name = c.names[i];
    const devices = changedDevices(name, changes, changes);
    const at = now();
    deliveries.expect(i, await c.change(i, devices), at);
    changes += 1;
    await sleep(100);
    deliveries.sweep();
  }
  return changes;
}

/** Junk each agent counted as a decode error, on average. */
function droppedPerAgent(c: FloodCluster): number {
  const decodeErrors = /^herald_decode_errors_total\{[^}]*\} (\d+)$/gm;
  const total = c.agents.reduce(
    (n, a) => n + [...a.metrics.registry.render().matchAll(decodeErrors)].reduce((m, x) => m + Number(x[1]), 0),
    0,
  );
  return total / c.agents.length;
}

/**
 * A keyed site under a flood of junk datagrams (random bytes and mutations of real ones) on its group,
 * while changes go on: does it stay converged, and does agent 0 still answer its local API?
 */
export async function junkFlood(
  start: (opts: ClusterOptions, keys: KeyRing) => Promise<FloodCluster>,
  agents: number,
  junkPerSecond: number,
  seconds: number,
  { heartbeatMs, ports }: ScenarioEnv,
): Promise<FloodResult> {
  const port = ports.next();
  const keys = parseKeyRing(generateKey());
  const site = `b${port}`; // the bench's Herald sites are named after their group port
  const c = await start({ agents, devicesPerAgent: 5, loss: 0, heartbeatMs, seed: 9, port }, keys);
  let source: Awaited<ReturnType<typeof junkSource>> | undefined;
  try {
    const { unsigned, forged } = costlyJunk(site, keys.signing.id);
    source = await junkSource(port, [unsigned, forged]);
    const { flooder, junk } = source;
    await waitFor(() => c.converged(), 20_000);
    await sleep(heartbeatMs);
    let sent = 0;
    const flood = setInterval(() => {
      for (let k = 0; k < junkPerSecond / 100; k++, sent++) flooder.send(junk(), port, GROUP);
    }, 10);
    const api = probeApi(c.agents[0].apiEndpoint!.port);
    const deliveries = new Deliveries(c);
    const t0 = now();
    const changes = await changesFor(c, deliveries, seconds);
    clearInterval(flood);
    const elapsed = (now() - t0) / 1000;
    await waitFor(() => deliveries.allHeld(), 10_000);
    deliveries.sweep();
    const probed = await api.stop();
    return {
      agents,
      junkPerSecond: sent / elapsed,
      changes,
      latencyMs: summarize(deliveries.latencies),
      undelivered: deliveries.undelivered(),
      apiMs: summarize(probed.times),
      apiFailures: probed.failures,
      convergedAfter: (await waitFor(() => c.converged(), 5000)) !== undefined,
      dropped: droppedPerAgent(c),
    };
  } finally {
    source?.tap.close();
    source?.flooder.close();
    await c.stop();
  }
}
