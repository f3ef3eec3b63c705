import BonjourPkg from 'bonjour-service';
import type { Device } from '../../src/profiles/model.js';
import { lossyUdpSocket } from '../../src/transport/lossy-socket.js';
import { seededRandom } from '../../src/util/random.js';
import { agentNames, type BenchCluster, type BenchSystem, type ClusterOptions, emptyTraffic } from '../system.js';
import { udpWireBytes } from '../wire.js';

const { Bonjour } = BonjourPkg;

/**
 * mDNS alone, as a user of bonjour-service would deploy it: every agent publishes a service whose TXT
 * carries its version, browses for the others, and re-announces its record set (with the cache-flush
 * bit) twice on each change (RFC 6762 §8.4). No catch-up and no probes: a receiver that misses both
 * announcements learns of the change only from a later one. Crash detection is the records' TTL (120 s).
 */
export const mdnsOnly: BenchSystem = {
  name: 'mdns-only',
  description: 'bonjour-service alone: version in TXT, re-announced on change, no catch-up',
  async start(opts: ClusterOptions): Promise<BenchCluster> {
    const traffic = emptyTraffic();
    const listeners: ((viewer: number, origin: string) => void)[] = [];
    const type = `b${opts.port}`;
    const names = agentNames(opts.agents);
    const nodes = names.map((name, i) => {
      const bonjour = new Bonjour(
        {
          interface: '127.0.0.1',
          bind: '0.0.0.0',
          socket: lossyUdpSocket(opts.loss, seededRandom(opts.seed * 31 + i), (bytes) => {
            traffic.datagrams += 1;
            traffic.datagramBytes += udpWireBytes(bytes);
            traffic.changeBytes += udpWireBytes(bytes);
          }),
        } as never,
        () => {},
      );
      return {
        name,
        bonjour,
        version: 1,
        view: new Map<string, number>(),
        crashed: false,
        timer: undefined as NodeJS.Timeout | undefined,
      };
    });
    for (const [i, n] of nodes.entries()) {
      n.bonjour.publish({ name: n.name, type, port: 9, txt: { v: '1' }, probe: false, disableIPv6: true });
      const browser = n.bonjour.find({ type });
      const seen = (s: { name: string; txt?: Record<string, string> }) => {
        if (s.name === n.name || n.crashed) return;
        const v = Number(s.txt?.v ?? 0);
        if (v > (n.view.get(s.name) ?? 0)) n.view.set(s.name, v);
        for (const l of listeners) l(i, s.name);
      };
      browser.on('up', seen);
      browser.on('txt-update', seen);
    }
    type Responder = {
      registry: Record<string, { name: string; data: unknown; flush?: boolean }[]>;
      mdns: { respond(p: unknown, cb?: () => void): void };
    };
    const responder = (i: number) => (nodes[i].bonjour as unknown as { server: Responder }).server;
    const fqdn = (i: number) => `${nodes[i].name}._${type}._tcp.local`;
    const reannounce = (i: number) => {
      const server = responder(i);
      const own = Object.values(server.registry)
        .flat()
        .filter((r) => r.name === fqdn(i) || r.name === `_${type}._tcp.local`);
      server.mdns.respond({
        answers: own.map((r) => ((r as { type?: string }).type === 'PTR' ? r : { ...r, flush: true })),
      });
    };

    const live = () => nodes.filter((n) => !n.crashed);
    return {
      names,
      async change(i: number, _devices: Device[]) {
        const n = nodes[i];
        n.version += 1;
        // bonjour-service has no TXT update: change its registered record in place, then announce it twice.
        const txt = responder(i).registry.TXT?.find((r) => r.name === fqdn(i));
        if (txt) txt.data = [Buffer.from(`v=${n.version}`)];
        traffic.changeDatagrams += 2;
        reannounce(i);
        clearTimeout(n.timer);
        n.timer = setTimeout(() => reannounce(i), 1000);
        return n.version;
      },
      onProgress: (cb) => listeners.push(cb),
      held: (viewer, origin) =>
        nodes[viewer].name === origin ? nodes[viewer].version : (nodes[viewer].view.get(origin) ?? 0),
      state: (viewer, origin) => (nodes[viewer].view.has(origin) ? 'alive' : undefined),
      converged: () => live().every((v) => live().every((o) => o === v || v.view.get(o.name) === o.version)),
      traffic: () => ({ ...traffic }),
      maxServed: () => 0,
      async crash(i) {
        const n = nodes[i];
        n.crashed = true;
        clearTimeout(n.timer);
        await new Promise<void>((r) => n.bonjour.destroy(() => r()));
      },
      async stop() {
        for (const n of nodes) {
          clearTimeout(n.timer);
          if (!n.crashed) await new Promise<void>((r) => n.bonjour.unpublishAll(() => n.bonjour.destroy(() => r())));
          n.crashed = true;
        }
      },
    };
  },
};
