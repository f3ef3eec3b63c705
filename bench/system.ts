import type { SyncView } from '../src/sync/sync-view.js';
import type { ProcessLoad } from './scale/loop-meter.js';
import type { Device } from '../src/profiles/model.js';

/** One system under test, started as a cluster of N agents in this process, on loopback. */
export interface BenchSystem {
  readonly name: string;
  readonly description: string;
  start(opts: ClusterOptions): Promise<BenchCluster>;
}

export interface ClusterOptions {
  agents: number;
  devicesPerAgent: number;
  /** Share of received datagrams dropped, per receiver, from a seeded source. */
  loss: number;
  heartbeatMs: number;
  seed: number;
  /** Multicast port for this run, so runs never hear each other. */
  port: number;
  /** Agent i starts i/N of this after the first (the scale step's 1 s, as the simulator does); 0 at once. */
  startSpreadMs?: number;
  /** Child processes the agents run in, where a system runs them so (the scale step's Herald). */
  processes?: number;
  /** Agents a child process runs, where a system runs them so and `processes` is not given. */
  agentsPerProcess?: number;
}

export interface Traffic {
  /** Datagrams sent and their bytes on the wire (payload + 28 bytes of IPv4 and UDP headers). */
  datagrams: number;
  datagramBytes: number;
  /**
   * Point-to-point HTTP requests, and their bytes on the wire (socket bytes + 2 × 52 bytes of TCP/IP
   * headers each).
   */
  httpRequests: number;
  httpBytes: number;
  /** Datagrams sent because of a change (not periodic ones): Herald's announcements, full-state's change sends. */
  changeDatagrams: number;
  /** Wire bytes caused by changes: change datagrams, catch-up exchanges, poll answers that carried a new state. */
  changeBytes: number;
  /** Datagram wire bytes arriving at the agents' sockets (each receiver counts its copy); the scale step reads it. */
  datagramBytesReceived: number;
  /** Datagrams arriving at the agents' sockets (with datagramBytesReceived: the payload without headers). */
  datagramsReceived: number;
  /** Of those, unicast ones (a ring's heartbeats): the rest is the site's multicast, every copy. */
  unicastReceived: number;
  unicastBytesReceived: number;
  /** Of the HTTP exchanges, hellos asking the peer's summary (`peers=1`, ~90 B an agent) and other hellos. */
  summaryRequests: number;
  summaryBytes: number;
  helloRequests: number;
  helloBytes: number;
}

export interface BenchCluster {
  readonly names: string[];
  /** Replaces origin i's device set; resolves with the version that now names it. */
  change(i: number, devices: Device[]): Promise<number>;
  /** Called whenever a viewer may have progressed on an origin; `held` gives the version it holds. */
  onProgress(cb: (viewer: number, origin: string) => void): void;
  held(viewer: number, origin: string): number;
  state(viewer: number, origin: string): 'alive' | 'lost' | 'left' | undefined;
  /** Every running viewer holds every running origin's current version. */
  converged(): boolean;
  traffic(): Traffic;
  /** Catch-up or poll requests served by the busiest agent. */
  maxServed(): number;
  /** Agents in child processes only (the scale step): see scale/process-cluster.ts. */
  processes?: number;
  /** When the agents were told to start, if later than start() was called (child processes booting). */
  startedAt?: number;
  /** Reads counters kept in child processes, for traffic() to return. */
  refresh?(): Promise<void>;
  /** Sets the loss in child processes (in this process the options' loss is set in place). */
  setLoss?(loss: number): Promise<void>;
  /** Each child process's load since the last call. */
  loads?(): Promise<ProcessLoad[]>;
  /** What agent i's cluster sync holds of `origin` and of its ring (a diagnosis of a miss; the scale step only). */
  inspect?(i: number, origin: string): Promise<SyncView | null>;
  /**
   * Kills agent i without a goodbye: sockets closed, as a crashed process. A child process answers when its
   * sockets closed (Date.now()): the crash clock starts there, not at the answer (scale/crash-times.ts).
   */
  crash(i: number): Promise<unknown>;
  stop(): Promise<void>;
}

export function emptyTraffic(): Traffic {
  return {
    datagrams: 0,
    datagramBytes: 0,
    httpRequests: 0,
    httpBytes: 0,
    changeDatagrams: 0,
    changeBytes: 0,
    datagramBytesReceived: 0,
    datagramsReceived: 0,
    unicastReceived: 0,
    unicastBytesReceived: 0,
    summaryRequests: 0,
    summaryBytes: 0,
    helloRequests: 0,
    helloBytes: 0,
  };
}

/** Agent names every system uses, so that tables and logs line up across systems. */
export function agentName(i: number): string {
  return `agent-${String(i).padStart(3, '0')}`;
}

/**
 * An agent's `count` devices after a change: device `slot % count` at `revision`, the others as they
 * started. Every scenario changes one device per change this way, so that a change is the same size everywhere.
 */
export function changedDevices(agent: string, slot: number, revision: number, count = 5): Device[] {
  return Array.from({ length: count }, (_, d) => benchDevice(agent, d, d === slot % count ? revision : 0));
}

export function benchDevice(agent: string, k: number, revision = 0): Device {
  return {
    id: `dev-${k}`,
    name: `${agent} device ${k}`,
    model: 'BME280',
    manufacturer: 'Bosch',
    location: `hall ${k}, revision ${revision}`,
    tags: ['bench', `k${k}`],
    names: [],
    capabilities: [
      {
        id: 'temperature',
        kind: 'property',
        type: 'temperature',
        unit: '°C',
        readOnly: true,
        endpoint: `http://{address}:8080/${k}/t`,
      },
      { id: 'humidity', kind: 'property', type: 'humidity', unit: '%', readOnly: true },
    ],
  };
}
