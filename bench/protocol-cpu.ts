import { Agent } from '../src/agent/agent.js';
import { HmacEnvelope } from '../src/protocol/hmac-envelope.js';
import { MemoryProfileSource } from '../src/profiles/source.js';
import { generateKey, parseKeyRing, type KeyRing } from '../src/security/cluster-key.js';
import { MemoryNetwork } from '../src/transport/memory-network.js';
import type { DatagramTransport } from '../src/transport/transport.js';
import { FakeClock } from '../src/util/clock.js';
import { createLogger, type Logger } from '../src/util/logger.js';
import { seededRandom, type Random } from '../src/util/random.js';
import { benchDevice, changedDevices } from './system.js';

export interface Site {
  clock: FakeClock;
  random: Random;
  network: MemoryNetwork;
  keys: KeyRing | undefined;
  logger: Logger;
  /** Around each agent's datagram transport (receive-cost.ts times the handling of each datagram). */
  wrap?: (transport: DatagramTransport, address: string) => DatagramTransport;
  /** The agents' `defer` (a datagram's hints after the turn): receive-cost.ts runs it at once, timed. */
  defer?: (work: () => void) => void;
}

/** Agent i on the in-memory network, heartbeats off (a 10-minute period): it only does what changes ask. */
export function memoryAgent(site: Site, i: number): { agent: Agent; source: MemoryProfileSource } {
  const { clock, random, network, keys, logger } = site;
  const address = `10.9.${i >> 8}.${i & 255}`;
  const transport = network.datagramTransport(address);
  const name = `agent-${i}`;
  const source = new MemoryProfileSource(Array.from({ length: 5 }, (_, k) => benchDevice(name, k)));
  const agent = new Agent(
    {
      clock,
      random,
      logger,
      profiles: source,
      transport: site.wrap ? site.wrap(transport, address) : transport,
      peers: network.peerClient(address),
      envelope: keys && new HmacEnvelope(keys, clock),
      defer: site.defer,
      peerListener: (service) => ({
        start: () => {
          network.servePeer({ address, port: 7771 }, service);
          return Promise.resolve(7771);
        },
        stop: () => Promise.resolve(),
      }),
    },
    { name, site: 'cpu', incarnation: 1000 + i, address, host: name, heartbeatMs: 600_000, api: null },
  );
  return { agent, source };
}

type MemoryNode = ReturnType<typeof memoryAgent>;

/** `agents` agents started on the site, the start-up's catch-ups done (2 s of the fake clock). */
export async function startMemorySite(site: Site, agents: number): Promise<MemoryNode[]> {
  const nodes: MemoryNode[] = [];
  for (let i = 0; i < agents; i++) {
    const node = memoryAgent(site, i);
    await node.agent.start();
    nodes.push(node);
  }
  await site.clock.advance(2000);
  return nodes;
}

/** Change k: agent k mod N updates one device and announces it; 5 ms of the fake clock deliver it. */
export async function memoryChange(site: Site, nodes: MemoryNode[], k: number): Promise<void> {
  const i = k % nodes.length;
  nodes[i].source.set(changedDevices(`agent-${i}`, k, k + 1));
  await nodes[i].agent.reload('bench');
  await site.clock.advance(5);
}

/** A site on the in-memory network with the fake clock (the same seed for every site), keyed or open. */
export function memorySite(keyed: boolean): Site {
  const clock = new FakeClock();
  const random = seededRandom(77);
  const network = new MemoryNetwork({ clock, random });
  const keys = keyed ? parseKeyRing(generateKey()) : undefined;
  return { clock, random, network, keys, logger: createLogger({ level: 'silent' }) };
}

/**
 * CPU per change of the protocol itself, open against keyed (one pair of the authentication step, ms a change):
 * agents on the in-memory network with the fake clock and heartbeats off, so that the only work is announcing,
 * sealing, opening, decoding and applying each change on every receiver; no sockets or timers to add noise; the
 * same seed for both. An open and a keyed site of `agents` each, started side by side, their changes interleaved
 * one at a time (which goes first alternating), each change's CPU counted to its own site. Run one after the
 * other, the two halves of a pair met different moments of a shared machine's load and one pair's ratio moved
 * ±5 points (gc16); a change at a time (~3 ms), a drift of the load falls on both alike. A garbage collection
 * falls in whichever change allocates past the young generation's budget: on each in proportion to its garbage.
 */
export async function protocolCpuPair(
  agents: number,
  changes: number,
  keyedFirst = false,
): Promise<{ open: number; keyed: number }> {
  // Which site is started (and its heap allocated) first alternates with the pairs as well.
  const sites = keyedFirst ? [memorySite(true), memorySite(false)] : [memorySite(false), memorySite(true)];
  const nodes = [await startMemorySite(sites[0], agents), await startMemorySite(sites[1], agents)];
  const spent = [0, 0];
  for (let k = 0; k < changes; k++) {
    for (const i of k % 2 === 0 ? [0, 1] : [1, 0]) {
      const cpu0 = process.cpuUsage();
      await memoryChange(sites[i], nodes[i], k);
      const cpu = process.cpuUsage(cpu0);
      spent[i] += cpu.user + cpu.system;
    }
  }
  for (const n of nodes.flat()) await n.agent.stop({ goodbye: false });
  const [open, keyed] = keyedFirst ? [spent[1], spent[0]] : spent;
  return { open: open / 1000 / changes, keyed: keyed / 1000 / changes };
}
