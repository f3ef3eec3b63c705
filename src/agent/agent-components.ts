import type { Directory } from '../directory/directory.js';
import type { LocalDeviceSet } from '../directory/local-device-set.js';
import type { ApiComponents } from '../http/api-server.js';
import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { ProfileSource } from '../profiles/source.js';
import type { Envelope } from '../protocol/envelope.js';
import type { RegistrationComponents } from '../registration/agent-wiring.js';
import type { ClusterSync } from '../sync/cluster-sync.js';
import type { DatagramTransport, PeerClient, PeerService } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';

/** What an extension (mDNS discovery, the MQTT bridge) gets to work with. */
export interface AgentContext {
  directory: Directory;
  local: LocalDeviceSet;
  sync: ClusterSync;
  metrics: HeraldMetrics;
  logger: Logger;
  clock: Clock;
  random: Random;
  identity: { name: string; site: string; incarnation: number; address: string; host: string; peerPort: number };
  /** Retires an agent that is lost or left (never an alive or the local one): see Agent.forgetAgent. */
  forgetAgent(name: string): ForgetOutcome;
  /** The journal index the directory is at now: what /v1/devices reports as `index`. */
  journalIndex(): string;
}

/** What `forget` did: an alive or the local agent is refused, with the reason as a code. */
export type ForgetOutcome =
  | { forgotten: true; agent: string; known: boolean; notes?: string[] }
  | { forgotten: false; agent: string; reason: 'alive' | 'local'; detail: string };

/** A part of the agent with its own lifecycle, started after sync and stopped before it. */
export interface AgentExtension {
  readonly name: string;
  start(ctx: AgentContext): Promise<void>;
  /** `goodbye: false` stops like a crash: no farewell (mDNS goodbyes, MQTT offline) is sent. */
  stop(opts?: { goodbye?: boolean }): Promise<void>;
  /**
   * An agent was forgotten (`herald forget`, the API, an MQTT request): clear what was published for it. What it
   * could not see to, said to the one who asked (a full list of owed MQTT forgets: attacks/forget-refused-said).
   */
  forget?(name: string): string | undefined;
  /** A line for /readyz; `ok: false` makes the agent not ready. */
  health?(): { ok: boolean; detail?: string; critical?: boolean };
}

/** Serves the peer endpoint for a PeerService; resolves with the port it listens on. */
export interface PeerListener {
  start(): Promise<number>;
  stop(): Promise<void>;
}

export interface AgentComponents extends RegistrationComponents {
  clock: Clock;
  random: Random;
  logger: Logger;
  profiles: ProfileSource;
  /** Herald datagrams; absent when only mDNS carries advertisements. */
  transport?: DatagramTransport;
  extensions?: AgentExtension[];
  peers: PeerClient;
  peerListener: (service: PeerService, metrics: HeraldMetrics) => PeerListener;
  metrics?: HeraldMetrics;
  envelope?: Envelope;
  /** Whether an address is on the link of the interface the agent runs on (see ClusterSyncComponents). */
  onLink?: (address: string) => boolean;
  /** Work that can wait for the datagrams of this turn (see ClusterSyncComponents.defer); absent: at once. */
  defer?: (work: () => void) => void;
  /**
   * The process's own figures (process_*, nodejs_heap_*, herald_build_info), for the agent that owns the
   * process; `full` adds prom-client's whole default set (about 1 MiB more resident).
   */
  processMetrics?: { full: boolean };
  /** Guards the local API (the bearer token of a non-loopback API). */
  authorizeApi?: ApiComponents['authorize'];
}

export interface AgentInit {
  name: string;
  site: string;
  incarnation: number;
  /** The address peers reach this agent at, and that {address} expands to in endpoints. */
  address: string;
  host: string;
  heartbeatMs?: number;
  /** See ClusterSyncInit.livenessPeriodMs. */
  livenessPeriodMs?: number;
  /** See ClusterSyncInit.heartbeatScaling: false only for the benchmark's fixed-interval baseline. */
  heartbeatScaling?: boolean;
  /** See ClusterSyncInit.heartbeatBudget: tests only. */
  heartbeatBudget?: number;
  /** The local API; null runs without one (benchmarks run many agents in one process). */
  api: { host: string; port: number } | null;
  /** A unix socket serving the API too; its file mode decides who may register. */
  apiSocket?: string;
}
