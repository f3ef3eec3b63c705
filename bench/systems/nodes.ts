import type { Device } from '../../src/profiles/model.js';
import { seededRandom, type Random } from '../../src/util/random.js';
import { agentName, benchDevice, emptyTraffic, type BenchCluster, type ClusterOptions } from '../system.js';
import { udpWireBytes } from '../wire.js';

/** The set-up every system's cluster shares: its agents' names, device sets, randomness and counters. */

type ProgressListener = (viewer: number, origin: string) => void;

/** One agent of a system under test, as every system starts it. */
export interface BenchNode {
  readonly index: number;
  readonly name: string;
  /** The version naming its device set: 1 at start, one more each change. */
  version: number;
  devices: Device[];
  /** Its own seeded source (loss, jitter), so that a run repeats whatever the other agents do. */
  readonly random: Random;
  crashed: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class BenchNodes<X extends object = object> {
  readonly traffic = emptyTraffic();
  readonly nodes: (BenchNode & X)[];
  private readonly listeners: ProgressListener[] = [];

  /**
   * `seedFactor` keeps each system's randomness what it has always been: agent i draws from
   * seededRandom(seed × seedFactor + i). `extra` adds what the system keeps per agent; it may count
   * traffic on the nodes it is given, not yet read their list.
   */
  constructor(opts: ClusterOptions, seedFactor: number, extra: (node: BenchNode, nodes: BenchNodes<X>) => X) {
    this.nodes = Array.from({ length: opts.agents }, (_, index) => {
      const name = agentName(index);
      const node: BenchNode = {
        index,
        name,
        version: 1,
        devices: Array.from({ length: opts.devicesPerAgent }, (_, k) => benchDevice(name, k)),
        random: seededRandom(opts.seed * seedFactor + index),
        crashed: false,
        timer: undefined,
      };
      return Object.assign(node, extra(node, this));
    });
  }

  get names(): string[] {
    return this.nodes.map((n) => n.name);
  }

  live(): (BenchNode & X)[] {
    return this.nodes.filter((n) => !n.crashed);
  }

  /** Tells the scenario that `viewer` may now hold more of `origin`. */
  progressed(viewer: number, origin: string): void {
    for (const l of this.listeners) l(viewer, origin);
  }

  /** A datagram of `bytes` payload sent; `change` when a change caused it rather than a period. */
  countDatagram(bytes: number, change: boolean): void {
    this.traffic.datagrams += 1;
    this.traffic.datagramBytes += udpWireBytes(bytes);
    if (change) this.traffic.changeBytes += udpWireBytes(bytes);
  }

  /** A datagram of `bytes` payload arrived at one agent's socket (`unicast`: sent to it alone). */
  countReceived(bytes: number, unicast = false): void {
    this.traffic.datagramBytesReceived += udpWireBytes(bytes);
    this.traffic.datagramsReceived += 1;
    if (!unicast) return;
    this.traffic.unicastBytesReceived += udpWireBytes(bytes);
    this.traffic.unicastReceived += 1;
  }

  /** The members of BenchCluster that read this bookkeeping. */
  cluster(): Pick<BenchCluster, 'names' | 'onProgress' | 'traffic'> {
    return {
      names: this.names,
      onProgress: (cb) => this.listeners.push(cb),
      traffic: () => ({ ...this.traffic }),
    };
  }
}

/** What an agent of a simple system holds of another: the version it heard and whether it counts it alive. */
export interface HeldVersion {
  version: number;
  state: 'alive' | 'lost';
}

/** held, state and converged for systems whose agents each keep a map of what they hold of the others. */
export function heldVersions(
  nodes: BenchNodes<{ view: Map<string, HeldVersion> }>,
): Pick<BenchCluster, 'held' | 'state' | 'converged'> {
  const all = nodes.nodes;
  const holdsCurrent = (v: BenchNode & { view: Map<string, HeldVersion> }, o: BenchNode) => {
    const held = v.view.get(o.name);
    return held?.version === o.version && held.state === 'alive';
  };
  return {
    held: (viewer, origin) =>
      all[viewer].view.get(origin)?.version ?? (all[viewer].name === origin ? all[viewer].version : 0),
    state: (viewer, origin) => all[viewer].view.get(origin)?.state,
    converged: () => {
      const live = nodes.live();
      return live.every((v) => live.every((o) => o === v || holdsCurrent(v, o)));
    },
  };
}
