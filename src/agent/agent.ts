import type { AddressInfo } from 'node:net';
import { Directory } from '../directory/directory.js';
import { EventJournal } from '../directory/event-journal.js';
import { LocalDeviceSet } from '../directory/local-device-set.js';
import { ApiServer, type ApiComponents, type Readiness } from '../http/api-server.js';
import { createHeraldMetrics, type HeraldMetrics } from '../metrics/herald-metrics.js';
import { nameConflicts } from '../metrics/name-conflicts.js';
import { loadNodeMetrics, registerProcessMetrics } from '../metrics/process-metrics.js';
import type { ProfileSource } from '../profiles/source.js';
import { ApiSocket } from '../registration/api-socket.js';
import { createHostDevices, registrationRoutes, type RegistrationComponents } from '../registration/agent-wiring.js';
import type { HostDevices } from '../registration/host-devices.js';
import type { Envelope } from '../protocol/envelope.js';
import { ClusterSync } from '../sync/cluster-sync.js';
import { DEFAULT_HEARTBEAT_MS } from '../sync/config.js';
import { DirectoryPeerService, helloOf } from '../sync/peer-service.js';
import type { DatagramTransport, PeerClient, PeerService } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import { ProfileKeeper } from './profile-keeper.js';

export { ProfileLoadError } from './profile-keeper.js';

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
  | { forgotten: true; agent: string; known: boolean }
  | { forgotten: false; agent: string; reason: 'alive' | 'local'; detail: string };

/** A part of the agent with its own lifecycle, started after sync and stopped before it. */
export interface AgentExtension {
  readonly name: string;
  start(ctx: AgentContext): Promise<void>;
  /** `goodbye: false` stops like a crash: no farewell (mDNS goodbyes, MQTT offline) is sent. */
  stop(opts?: { goodbye?: boolean }): Promise<void>;
  /** An agent was forgotten (`herald forget`, the API, an MQTT request): clear what was published for it. */
  forget?(name: string): void;
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
  /** The local API; null runs without one (benchmarks run many agents in one process). */
  api: { host: string; port: number } | null;
  /** A unix socket serving the API too; its file mode decides who may register. */
  apiSocket?: string;
}

/**
 * Without Herald datagrams (mDNS alone) nothing is heard between changes, so liveness rests on TCP
 * probes; judging it over ten heartbeat periods keeps them to one per peer every 25 periods.
 */
const MDNS_LIVENESS_FACTOR = 10;

/**
 * One Herald agent: its own devices, the replicated directory, cluster sync and the local API.
 * Start-up order: profiles, peer endpoint, sync, API, watcher; shutdown runs it backwards.
 */
export class Agent {
  readonly directory: Directory;
  readonly journal: EventJournal;
  readonly local: LocalDeviceSet;
  /** This host's devices from files and registrations, with their checks. */
  readonly devices: HostDevices;
  readonly metrics: HeraldMetrics;
  private sync: ClusterSync | undefined;
  private api: ApiServer | undefined;
  private apiSocket: ApiSocket | undefined;
  private peerListener: PeerListener | undefined;
  private unwatch: (() => void) | undefined;
  private started = false;
  private stopping = false;
  private reloading: Promise<void> = Promise.resolve();
  private readonly profiles: ProfileKeeper;
  private apiAddress: AddressInfo | undefined;
  private peerPort = 0;
  private readonly startedExtensions: AgentExtension[] = [];

  constructor(
    private readonly c: AgentComponents,
    private readonly init: AgentInit,
  ) {
    this.metrics = c.metrics ?? createHeraldMetrics();
    if (c.processMetrics) registerProcessMetrics(this.metrics.registry);
    this.directory = new Directory({ clock: c.clock }, { site: init.site });
    this.journal = new EventJournal(String(init.incarnation));
    this.directory.subscribe((e) => this.journal.record(e));
    this.local = new LocalDeviceSet({ directory: this.directory }, init);
    this.devices = createHostDevices(c, this, init);
    this.profiles = new ProfileKeeper({
      source: c.profiles,
      local: this.local,
      devices: this.devices,
      metrics: this.metrics,
      journal: this.journal,
      logger: c.logger,
      clock: c.clock,
      agent: init.name,
    });
    this.registerGauges();
  }

  get name(): string {
    return this.init.name;
  }

  /** Where the local API listens, once started. */
  get apiEndpoint(): AddressInfo | undefined {
    return this.apiAddress;
  }

  get peerEndpoint(): { address: string; port: number } {
    return { address: this.init.address, port: this.peerPort };
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.devices.restore();
    await this.profiles.start();

    const service = new DirectoryPeerService({
      directory: this.directory,
      identity: helloOf(
        this.init.name,
        this.init.site,
        this.init.incarnation,
        () => this.local.currentVersion,
        this.directory,
      ),
      onServed: (route, status) => this.metrics.peerRequestsServed.inc({ route, status: String(status) }),
      onAsked: (asker) => this.sync?.askedBy(asker),
    });
    this.peerListener = this.c.peerListener(service, this.metrics);
    this.peerPort = await this.peerListener.start();

    this.sync = new ClusterSync(
      { ...this.c, directory: this.directory, local: this.local, metrics: this.metrics },
      {
        name: this.init.name,
        site: this.init.site,
        incarnation: this.init.incarnation,
        peerPort: this.peerPort,
        heartbeatMs: this.init.heartbeatMs,
        livenessPeriodMs:
          this.init.livenessPeriodMs ??
          (this.c.transport ? undefined : (this.init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) * MDNS_LIVENESS_FACTOR),
      },
    );
    await this.sync.start();
    this.directory.touch(this.init.name, this.init.address, this.peerPort);
    const ctx: AgentContext = {
      directory: this.directory,
      local: this.local,
      sync: this.sync,
      metrics: this.metrics,
      logger: this.c.logger,
      clock: this.c.clock,
      random: this.c.random,
      identity: {
        name: this.init.name,
        site: this.init.site,
        incarnation: this.init.incarnation,
        address: this.init.address,
        host: this.init.host,
        peerPort: this.peerPort,
      },
      forgetAgent: (name) => this.forgetAgent(name),
      journalIndex: () => this.journal.lastId,
    };
    for (const ext of this.c.extensions ?? []) {
      await ext.start(ctx);
      this.startedExtensions.push(ext);
    }

    if (this.init.api) {
      this.api = new ApiServer(
        {
          directory: this.directory,
          journal: this.journal,
          metrics: this.metrics,
          logger: this.c.logger,
          clock: this.c.clock,
          nodeMetrics: this.c.processMetrics?.full ? await loadNodeMetrics() : undefined,
          readiness: () => this.readiness(),
          forget: (name) => this.forgetAgent(name),
          authorize: this.c.authorizeApi,
          routes: registrationRoutes(this.c, this.devices, this.metrics),
        },
        this.init.api,
      );
      this.apiAddress = await this.api.start();
      this.apiSocket = this.init.apiSocket
        ? new ApiSocket(this.init.apiSocket, this.api.handlerFor('socket'))
        : undefined;
      await this.apiSocket?.start();
    }
    this.unwatch = this.c.profiles.watch(() => void this.reload('change'));
    this.started = true;
    this.c.logger.info(
      {
        agent: this.init.name,
        site: this.init.site,
        incarnation: this.init.incarnation,
        address: this.init.address,
        peerPort: this.peerPort,
        api: this.apiAddress ? `${this.apiAddress.address}:${this.apiAddress.port}` : null,
      },
      'agent started',
    );
  }

  /** Stops in the reverse order of start. A crash test passes goodbye: false to vanish silently. */
  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unwatch?.();
    this.devices.stop();
    await this.apiSocket?.stop();
    await this.api?.stop();
    for (const ext of this.startedExtensions.splice(0).reverse()) {
      await ext
        .stop(opts)
        .catch((err: unknown) => this.c.logger.error({ err, extension: ext.name }, 'extension failed to stop'));
    }
    await this.sync?.stop(opts);
    await this.peerListener?.stop();
    await this.c.peers.close();
    this.started = false;
    this.c.logger.info({ agent: this.init.name }, 'agent stopped');
  }

  /** Re-reads the profiles (see ProfileKeeper for what is applied); one reload at a time. */
  reload(reason: string): Promise<void> {
    this.reloading = this.reloading
      .then(async () => {
        if (!this.stopping) await this.profiles.reload(reason);
      })
      // A reload runs from a file watcher: whatever fails in it is logged, never thrown at the process.
      .catch((err: unknown) => {
        this.metrics.profileReloads.inc({ result: 'failed' });
        this.c.logger.error({ err, reason }, 'profile reload failed; keeping the last set');
      });
    return this.reloading;
  }

  /**
   * Retires an agent at once: it leaves the directory, and every extension clears what it published for
   * it (the MQTT bridge its retained topics and Home Assistant entries). An unknown name is still passed
   * on, so that the retained ghosts of a renamed host can be cleared. An alive agent is refused: it
   * would only come back with its next heartbeat.
   */
  forgetAgent(name: string): ForgetOutcome {
    const info = this.directory.agent(name);
    if (info?.local || name === this.init.name)
      return { forgotten: false, agent: name, reason: 'local', detail: `'${name}' is this agent itself` };
    if (info?.state === 'alive')
      return {
        forgotten: false,
        agent: name,
        reason: 'alive',
        detail: `agent '${name}' is alive; only a lost or left agent can be forgotten`,
      };
    this.directory.forget(name);
    for (const ext of this.startedExtensions) ext.forget?.(name);
    this.c.logger.info({ agent: name, known: info !== undefined }, 'agent forgotten');
    return { forgotten: true, agent: name, known: info !== undefined };
  }

  readiness(): Readiness {
    const checks: Readiness['checks'] = {
      profiles: this.profiles.check(),
      sync: {
        ok: this.started,
        detail: this.sync ? `${this.sync.pendingCatchups()} catch-ups pending` : 'not started',
      },
    };
    for (const ext of this.c.extensions ?? []) {
      const h = ext.health?.();
      if (h) checks[ext.name] = h;
    }
    // A non-critical check (the MQTT bridge) is reported but does not make the agent unready: the
    // directory and LAN sync are served whatever the broker does.
    return {
      ready:
        this.started &&
        !this.stopping &&
        Object.values(checks).every((c) => c.ok || (c as { critical?: boolean }).critical === false),
      checks,
    };
  }

  private registerGauges(): void {
    const r = this.metrics.registry;
    r.gauge('herald_agents', 'Known agents by state, this one included.', () =>
      Object.entries(this.directory.counts().agents).map(
        ([state, n]) => [{ state }, n] as [Record<string, string>, number],
      ),
    );
    r.gauge('herald_devices', 'Devices of alive agents in the directory.', () => this.directory.counts().devices);
    r.gauge('herald_local_version', "Version of this agent's own device set.", () => this.local.currentVersion);
    r.gauge(
      'herald_name_conflicts',
      'Names bound more than once: agent names claimed by several hosts, global names.',
      () => nameConflicts(this.directory),
    );
  }
}
