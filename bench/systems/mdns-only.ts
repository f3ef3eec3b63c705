import BonjourPkg from 'bonjour-service';
import { lossyUdpSocket } from '../../src/transport/lossy-socket.js';
import type { BenchCluster, BenchSystem, ClusterOptions } from '../system.js';
import { BenchNodes, type BenchNode } from './nodes.js';

const { Bonjour } = BonjourPkg;
type Bonjour = InstanceType<typeof Bonjour>;

interface Publisher {
  bonjour: Bonjour;
  view: Map<string, number>;
}
type MdnsNode = BenchNode & Publisher;
type MdnsNodes = BenchNodes<Publisher>;

/** bonjour-service's responder, reached past its types: its registered records and its mDNS socket. */
interface Responder {
  registry: Record<string, { name: string; data: unknown; flush?: boolean }[] | undefined>;
  mdns: { respond(p: unknown, cb?: () => void): void };
}
const responder = (n: MdnsNode) => (n.bonjour as unknown as { server: Responder }).server;

/** Pinned to loopback; every datagram it sends counts as change traffic (there is nothing else to send). */
function bonjourOn(nodes: MdnsNodes, node: BenchNode, loss: number): Bonjour {
  const socket = lossyUdpSocket(loss, node.random, (bytes) => nodes.countDatagram(bytes, true));
  return new Bonjour({ interface: '127.0.0.1', bind: '0.0.0.0', socket } as never, () => {});
}

function publishAndBrowse(nodes: MdnsNodes, n: MdnsNode, type: string): void {
  n.bonjour.publish({ name: n.name, type, port: 9, txt: { v: '1' }, probe: false, disableIPv6: true });
  const browser = n.bonjour.find({ type });
  const seen = (s: { name: string; txt?: Record<string, string> }) => {
    if (s.name === n.name || n.crashed) return;
    const v = Number(s.txt?.v ?? 0);
    if (v > (n.view.get(s.name) ?? 0)) n.view.set(s.name, v);
    nodes.progressed(n.index, s.name);
  };
  browser.on('up', seen);
  browser.on('txt-update', seen);
}

/** The node's own records again, the cache-flush bit on all but the shared PTR. */
function reannounce(n: MdnsNode, type: string): void {
  const server = responder(n);
  const fqdn = `${n.name}._${type}._tcp.local`;
  const own = Object.values(server.registry)
    .flat()
    .filter((r) => r !== undefined && (r.name === fqdn || r.name === `_${type}._tcp.local`));
  server.mdns.respond({
    answers: own.map((r) => ((r as { type?: string }).type === 'PTR' ? r : { ...r, flush: true })),
  });
}

/** bonjour-service has no TXT update: change the registered record in place, then announce it twice. */
function announceVersion(n: MdnsNode, type: string): void {
  const txt = responder(n).registry.TXT?.find((r) => r.name === `${n.name}._${type}._tcp.local`);
  if (txt) txt.data = [Buffer.from(`v=${n.version}`)];
  reannounce(n, type);
  clearTimeout(n.timer);
  n.timer = setTimeout(() => reannounce(n, type), 1000);
}

/**
 * mDNS alone, as a user of bonjour-service would deploy it: every agent publishes a service whose TXT
 * carries its version, browses for the others, and re-announces its record set (with the cache-flush
 * bit) twice on each change (RFC 6762 §8.4). No catch-up and no probes: a receiver that misses both
 * announcements learns of the change only from a later one. Crash detection is the records' TTL (120 s).
 */
export const mdnsOnly: BenchSystem = {
  name: 'mdns-only',
  description: 'bonjour-service alone: version in TXT, re-announced on change, no catch-up',
  start(opts: ClusterOptions): Promise<BenchCluster> {
    const type = `b${opts.port}`;
    const nodes: MdnsNodes = new BenchNodes(opts, 31, (node, counting) => ({
      bonjour: bonjourOn(counting, node, opts.loss),
      view: new Map<string, number>(),
    }));
    for (const n of nodes.nodes) publishAndBrowse(nodes, n, type);
    const all = nodes.nodes;
    return Promise.resolve({
      ...nodes.cluster(),
      change(i) {
        all[i].version += 1;
        nodes.traffic.changeDatagrams += 2;
        announceVersion(all[i], type);
        return Promise.resolve(all[i].version);
      },
      held: (viewer, origin) =>
        all[viewer].name === origin ? all[viewer].version : (all[viewer].view.get(origin) ?? 0),
      state: (viewer, origin) => (all[viewer].view.has(origin) ? 'alive' : undefined),
      converged: () =>
        nodes.live().every((v) => nodes.live().every((o) => o === v || v.view.get(o.name) === o.version)),
      maxServed: () => 0,
      async crash(i) {
        all[i].crashed = true;
        clearTimeout(all[i].timer);
        await new Promise<void>((r) => all[i].bonjour.destroy(() => r()));
      },
      async stop() {
        for (const n of all) {
          clearTimeout(n.timer);
          if (!n.crashed) await new Promise<void>((r) => n.bonjour.unpublishAll(() => n.bonjour.destroy(() => r())));
          n.crashed = true;
        }
      },
    });
  },
};
