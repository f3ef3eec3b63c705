import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpPeerClient } from '../../src/transport/http-peer-client.js';
import { agentProcess, cpuSeconds, profilesDir, siteAgentArgs, stopProcess } from '../agent-process.js';
import { sleep } from '../harness.js';
import { SCALE_DEVICES } from './scale.js';

/**
 * What one catch-up costs in CPU, on each side: a cold start of N agents is about N(N−1) of them, so
 * this says how much of a 200-agent cold start a 2-core machine can hold at all. The server is one
 * agent process (10 devices), the asker this process with the agent's own peer client; CPU is read from /proc and process.cpuUsage, so machine load does not change the figure
 * much (it counts CPU time, not waiting).
 */

export interface CatchUpCost {
  requests: number;
  /** µs of CPU in the serving agent per /v1/peer/changes answered (a 10-device snapshot). */
  servedUs: number;
  /** µs of CPU in the asker per answer received and checked. */
  askedUs: number;
  /** The same, each request on a new TCP connection, as a cold start's first request to each peer is. */
  servedFreshUs: number;
  askedFreshUs: number;
  /** µs of CPU in the serving agent per liveness hello answered. */
  helloServedUs: number;
}

const TIMEOUT_MS = 5_000;
const CONCURRENCY = 4;
/**
 * The agent allows a source 200 requests at once and 100 a second (PeerHttpServer): the askers come
 * from 127.0.1.k, a new address each 150 requests, as a cold start's requests come from many hosts.
 */
const PER_SOURCE = 150;
const source = (k: number) => `127.0.1.${1 + (Math.floor(k / PER_SOURCE) % 250)}`;

async function waitForHello(port: number): Promise<void> {
  const client = new HttpPeerClient();
  try {
    for (let tries = 0; ; tries++) {
      try {
        await client.hello({ address: '127.0.0.1', port }, 500);
        return;
      } catch (err) {
        if (tries > 100) throw err;
        await sleep(100);
      }
    }
  } finally {
    await client.close();
  }
}

/** CPU µs per request on each side for `requests` requests made by `ask` (CONCURRENCY at a time). */
async function measure(pid: number, requests: number, ask: () => Promise<unknown>): Promise<[number, number]> {
  const served0 = await cpuSeconds(pid);
  const asked0 = process.cpuUsage();
  let next = 0;
  const lane = async () => {
    while (next++ < requests) await ask();
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const asked = process.cpuUsage(asked0);
  const served = (await cpuSeconds(pid)) - served0;
  return [(served * 1e6) / requests, (asked.user + asked.system) / requests];
}

/** `nodeFlags`: none by default, as the scale step's children run; unitNodeFlags() for the agent as deployed. */
export async function catchUpCost(
  requests = 4000,
  nodeFlags: string[] = [],
  port = 20000 + (process.pid % 9000),
): Promise<CatchUpCost> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-catchup-'));
  const name = `cost-${process.pid}`;
  const args = siteAgentArgs(name, `cost${process.pid}`, port, await profilesDir(dir, SCALE_DEVICES));
  args[args.indexOf('--peer-port') + 1] = String(port + 1);
  const agent = agentProcess(args, {}, nodeFlags);
  const peer = { address: '127.0.0.1', port: port + 1 };
  const query = { origin: name, since: 0, incarnation: 0 };
  try {
    await waitForHello(peer.port);
    // One pooled client per source address, as each asking host has its own.
    const pooled = new Map<string, HttpPeerClient>();
    let asked = 0; // across the measurements, so that no source goes past its allowance
    const client = () => {
      const localAddress = source(asked++);
      if (!pooled.has(localAddress)) pooled.set(localAddress, new HttpPeerClient({ localAddress }));
      return pooled.get(localAddress)!;
    };
    try {
      const changes = () => client().changes(peer, query, TIMEOUT_MS);
      await measure(agent.pid!, requests / 4, changes); // JIT warm-up
      const [servedUs, askedUs] = await measure(agent.pid!, requests, changes);
      const [helloServedUs] = await measure(agent.pid!, requests, () => client().hello(peer, TIMEOUT_MS));
      // Fewer: each leaves a socket in TIME_WAIT.
      const [servedFreshUs, askedFreshUs] = await measure(agent.pid!, requests / 4, async () => {
        const fresh = new HttpPeerClient({ localAddress: source(asked++) });
        await fresh.changes(peer, query, TIMEOUT_MS);
        await fresh.close();
      });
      return { requests, servedUs, askedUs, servedFreshUs, askedFreshUs, helloServedUs };
    } finally {
      await Promise.all([...pooled.values()].map((c) => c.close()));
    }
  } finally {
    await stopProcess(agent);
    await rm(dir, { recursive: true, force: true });
  }
}
