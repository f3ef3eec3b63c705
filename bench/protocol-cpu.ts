import { Agent } from '../src/agent/agent.js';
import { HmacEnvelope } from '../src/protocol/hmac-envelope.js';
import { MemoryProfileSource } from '../src/profiles/source.js';
import { generateKey, parseKeyRing, type KeyRing } from '../src/security/cluster-key.js';
import { MemoryNetwork } from '../src/transport/memory-network.js';
import { FakeClock } from '../src/util/clock.js';
import { createLogger, type Logger } from '../src/util/logger.js';
import { seededRandom, type Random } from '../src/util/random.js';
import { benchDevice, changedDevices } from './system.js';

interface Site {
  clock: FakeClock;
  random: Random;
  network: MemoryNetwork;
  keys: KeyRing | undefined;
  logger: Logger;
}

/** Agent i on the in-memory network, heartbeats off (a 10-minute period): it only does what changes ask. */
function memoryAgent(site: Site, i: number): { agent: Agent; source: MemoryProfileSource } {
  const { clock, random, network, keys, logger } = site;
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

/**
 * CPU per change of the protocol itself, open against keyed: agents on the in-memory network with the
 * fake clock and heartbeats off, so that the only work is announcing, sealing, opening, decoding and
 * applying each change on every receiver. No sockets or timers to add noise; the same seed for both.
 */
export async function protocolCpuPerChange(agents: number, changes: number, keyed: boolean): Promise<number> {
  const clock = new FakeClock();
  const random = seededRandom(77);
  const network = new MemoryNetwork({ clock, random });
  const keys = keyed ? parseKeyRing(generateKey()) : undefined;
  const site: Site = { clock, random, network, keys, logger: createLogger({ level: 'silent' }) };
  const nodes: ReturnType<typeof memoryAgent>[] = [];
  for (let i = 0; i < agents; i++) {
    const node = memoryAgent(site, i);
    await node.agent.start();
    nodes.push(node);
  }
  await clock.advance(2000);
  const cpu0 = process.cpuUsage();
  for (let k = 0; k < changes; k++) {
    const i = k % agents;
    const name = `agent-${i}`;
    nodes[i].source.set(changedDevices(name, k, k + 1));
    await nodes[i].agent.reload('bench');
    await clock.advance(5);
  }
  const cpu = process.cpuUsage(cpu0);
  for (const n of nodes) await n.agent.stop({ goodbye: false });
  return (cpu.user + cpu.system) / 1000 / changes;
}
