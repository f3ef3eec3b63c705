import { createSocket, type Socket } from 'node:dgram';
import type { Device } from '../../src/profiles/model.js';
import { jitter, seededRandom } from '../../src/util/random.js';
import {
  agentNames,
  type BenchCluster,
  benchDevice,
  type BenchSystem,
  type ClusterOptions,
  emptyTraffic,
} from '../system.js';
import { udpWireBytes } from '../wire.js';

/**
 * The naive design: every agent multicasts its whole device set, on every change and every period.
 * No versions to reconcile, no catch-up: a lost datagram is repaired by the next period's copy.
 */
export const fullStateMulticast: BenchSystem = {
  name: 'full-state',
  description: 'every agent multicasts its whole device set on change and every period (the naive design)',
  async start(opts: ClusterOptions): Promise<BenchCluster> {
    const traffic = emptyTraffic();
    const listeners: ((viewer: number, origin: string) => void)[] = [];
    const names = agentNames(opts.agents);
    const nodes = names.map((name, i) => ({
      name,
      version: 1,
      devices: Array.from({ length: opts.devicesPerAgent }, (_, k) => benchDevice(name, k)) as Device[],
      view: new Map<string, { version: number; heard: number; state: 'alive' | 'lost' }>(),
      socket: undefined as Socket | undefined,
      timer: undefined as NodeJS.Timeout | undefined,
      random: seededRandom(opts.seed * 7919 + i),
      crashed: false,
    }));

    const send = (n: (typeof nodes)[number], change = false) => {
      const payload = Buffer.from(JSON.stringify({ name: n.name, version: n.version, devices: n.devices }));
      traffic.datagrams += 1;
      traffic.datagramBytes += udpWireBytes(payload.length);
      if (change) traffic.changeBytes += udpWireBytes(payload.length);
      n.socket?.send(payload, opts.port, '239.255.70.70');
    };
    const schedule = (n: (typeof nodes)[number]) => {
      n.timer = setTimeout(
        () => {
          send(n);
          schedule(n);
        },
        jitter(n.random, opts.heartbeatMs, 0.2),
      );
    };

    await Promise.all(
      nodes.map(
        (n, i) =>
          new Promise<void>((resolve) => {
            const socket = createSocket({ type: 'udp4', reuseAddr: true });
            socket.on('message', (data) => {
              if (n.crashed || n.random() < opts.loss) return;
              const msg = JSON.parse(data.toString('utf8')) as { name: string; version: number; devices: Device[] };
              if (msg.name === n.name) return;
              const v = n.view.get(msg.name);
              if (!v || msg.version > v.version || v.state === 'lost')
                n.view.set(msg.name, {
                  version: Math.max(msg.version, v?.version ?? 0),
                  heard: Date.now(),
                  state: 'alive',
                });
              else v.heard = Date.now();
              for (const l of listeners) l(i, msg.name);
            });
            socket.bind(opts.port, '239.255.70.70', () => {
              socket.addMembership('239.255.70.70', '127.0.0.1');
              socket.setMulticastInterface('127.0.0.1');
              socket.setMulticastTTL(1);
              n.socket = socket;
              resolve();
            });
          }),
      ),
    );
    for (const n of nodes) {
      send(n);
      schedule(n);
    }
    const sweep = setInterval(() => {
      for (const [i, n] of nodes.entries()) {
        for (const [origin, v] of n.view) {
          if (v.state === 'alive' && Date.now() - v.heard > 3.5 * opts.heartbeatMs) {
            v.state = 'lost';
            for (const l of listeners) l(i, origin);
          }
        }
      }
    }, opts.heartbeatMs / 4);

    const live = () => nodes.filter((n) => !n.crashed);
    return {
      names,
      async change(i, devices) {
        const n = nodes[i];
        n.devices = devices;
        n.version += 1;
        traffic.changeDatagrams += 1;
        send(n, true);
        return n.version;
      },
      onProgress: (cb) => listeners.push(cb),
      held: (viewer, origin) =>
        nodes[viewer].view.get(origin)?.version ?? (nodes[viewer].name === origin ? nodes[viewer].version : 0),
      state: (viewer, origin) => nodes[viewer].view.get(origin)?.state,
      converged: () =>
        live().every((v) =>
          live().every(
            (o) => o === v || (v.view.get(o.name)?.version === o.version && v.view.get(o.name)?.state === 'alive'),
          ),
        ),
      traffic: () => ({ ...traffic }),
      maxServed: () => 0,
      async crash(i) {
        const n = nodes[i];
        n.crashed = true;
        clearTimeout(n.timer);
        n.socket?.close();
        n.socket = undefined;
      },
      async stop() {
        clearInterval(sweep);
        for (const n of nodes) {
          clearTimeout(n.timer);
          n.socket?.close();
          n.socket = undefined;
        }
      },
    };
  },
};
