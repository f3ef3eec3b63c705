/**
 * mDNS packets per second on one link with N agents browsing each other: Herald's responder and browser
 * (probing, known-answer and duplicate-question suppression) against bonjour-service alone (publish +
 * find, as Herald used it before). Both run at once on loopback, each on a port of its own so that the
 * counts never mix with each other or with other mDNS on the machine.
 *
 *   node dist/bench/mdns-packets.js [agents=20] [seconds=60] [startup=20]
 *
 * Prints packets in the start-up window and packets per second after it, for both.
 */
import { createSocket } from 'node:dgram';
import BonjourPkg from 'bonjour-service';
import dnsPacket from 'dns-packet';
import { Agent } from '../src/agent/agent.js';
import { PeerHttpServer } from '../src/http/peer-server.js';
import { MdnsDiscovery } from '../src/mdns/mdns-discovery.js';
import { MemoryProfileSource } from '../src/profiles/source.js';
import { HttpPeerClient } from '../src/transport/http-peer-client.js';
import { systemClock } from '../src/util/clock.js';
import { createLogger } from '../src/util/logger.js';

const { Bonjour } = BonjourPkg;
const [agents = 20, seconds = 60, startup = 20] = process.argv.slice(2).map(Number);

/** Counts the packets multicast to the group on `port` over loopback, by time since `t0`. */
async function counter(port: number) {
  const times: number[] = [];
  const kinds = { query: 0, response: 0 };
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(port, '224.0.0.251', () => resolve()));
  socket.addMembership('224.0.0.251', '127.0.0.1');
  const t0 = performance.now();
  socket.on('message', (data: Buffer) => {
    const at = (performance.now() - t0) / 1000;
    times.push(at);
    if (at >= startup) kinds[dnsPacket.decode(data).type === 'query' ? 'query' : 'response'] += 1;
  });
  return { times, kinds, close: () => socket.close() };
}

async function heraldAgents(port: number) {
  const clock = systemClock();
  const list: Agent[] = [];
  for (let i = 0; i < agents; i++) {
    const agent = new Agent(
      {
        clock,
        random: Math.random,
        logger: createLogger({ level: 'silent' }),
        profiles: new MemoryProfileSource([]),
        peers: new HttpPeerClient(),
        peerListener: (service) => {
          const server = new PeerHttpServer(service, { host: '127.0.0.1', port: 0 });
          return { start: async () => (await server.start()).port, stop: () => server.stop() };
        },
        extensions: [new MdnsDiscovery({ interfaceAddress: '127.0.0.1', browse: true, publishDevices: false, port })],
      },
      {
        name: `p${i}`,
        site: `pk${port}`,
        incarnation: clock.now() * 100 + i,
        address: '127.0.0.1',
        host: 'localhost',
        api: null,
      },
    );
    await agent.start();
    list.push(agent);
  }
  return { stop: () => Promise.all(list.map((a) => a.stop())) };
}

function bonjourAgents(port: number) {
  const list = Array.from({ length: agents }, (_, i) => {
    const b = new Bonjour({ interface: '127.0.0.1', bind: '0.0.0.0', port } as never, () => {});
    b.publish({ name: `q${i}`, type: 'herald', port: 9000 + i, txt: { v: '1' }, probe: false, disableIPv6: true });
    b.find({ type: 'herald' });
    return b;
  });
  return { stop: () => Promise.all(list.map((b) => new Promise<void>((r) => b.destroy(() => r())))) };
}

const heraldPort = 40000 + Math.floor(Math.random() * 10000);
const bonjourPort = heraldPort + 1;
const counts = { herald: await counter(heraldPort), bonjour: await counter(bonjourPort) };
const running = [await heraldAgents(heraldPort), bonjourAgents(bonjourPort)];
await new Promise((r) => setTimeout(r, seconds * 1000));
for (const r of running) await r.stop();
for (const [name, c] of Object.entries(counts)) {
  c.close();
  const early = c.times.filter((t) => t < startup).length;
  const late = c.times.filter((t) => t >= startup && t < seconds).length;
  console.log(
    `${name.padEnd(8)} ${agents} agents: ${early} packets in the first ${startup} s, ` +
      `${(late / (seconds - startup)).toFixed(2)} packets/s from ${startup} to ${seconds} s ` +
      `(${c.kinds.query} queries, ${c.kinds.response} responses)`,
  );
}
