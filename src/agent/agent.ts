import type { AddressInfo } from 'node:net';
import type {
  AgentComponents,
  AgentContext,
  AgentExtension,
  AgentInit,
  ForgetOutcome,
  PeerListener,
} from './agent-components.js';
import { Directory } from '../directory/directory.js';
import { EventJournal } from '../directory/event-journal.js';
import { LocalDeviceSet } from '../directory/local-device-set.js';
import { ApiServer, type Readiness } from '../http/api-server.js';
import { createHeraldMetrics, type HeraldMetrics } from '../metrics/herald-metrics.js';
import { nameConflicts } from '../metrics/name-conflicts.js';
import { loadNodeMetricsAfterStart, registerProcessMetrics } from '../metrics/process-metrics.js';
import { ApiSocket } from '../registration/api-socket.js';
import { createHostDevices, registrationRoutes } from '../registration/agent-wiring.js';
import type { HostDevices } from '../registration/host-devices.js';
import { ClusterSync, type SyncView } from '../sync/cluster-sync.js';
import { DEFAULT_HEARTBEAT_MS } from '../sync/config.js';
import { DirectoryPeerService, helloOf } from '../sync/peer-service.js';
import { forgetAgent } from './forget.js';
import { ProfileKeeper } from './profile-keeper.js';

export { ProfileLoadError } from './profile-keeper.js';

// Importers take the agent's contract from the agent itself.
export type {
  AgentComponents,
  AgentContext,
  AgentExtension,
  AgentInit,
  ForgetOutcome,
  PeerListener,
} from './agent-components.js';

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
    this.peerListener = this.c.peerListener(this.peerService(), this.metrics);
    this.peerPort = await this.peerListener.start();
    this.sync = this.clusterSync();
    await this.sync.start();
    this.directory.touch(this.init.name, this.init.address, this.peerPort);
    await this.startExtensions(this.sync);
    if (this.init.api) await this.startApi(this.init.api);
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

  /** Retires a lost or left agent at once (see forget.ts). */
  forgetAgent(name: string): ForgetOutcome {
    const parts = { directory: this.directory, extensions: this.startedExtensions, logger: this.c.logger };
    return forgetAgent({ ...parts, sync: this.sync, self: this.init.name }, name);
  }

  /** What cluster sync holds of `origin` and of its ring neighbours (a diagnosis); undefined before start. */
  inspectSync(origin: string): SyncView | undefined {
    return this.sync?.inspect(origin);
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

  // ---- start-up steps, in the order start() runs them ------------------------------------------

  /** What this agent answers on its peer endpoint. */
  private peerService(): DirectoryPeerService {
    return new DirectoryPeerService({
      directory: this.directory,
      clock: this.c.clock,
      identity: helloOf(
        this.init,
        () => this.local.currentVersion,
        this.directory,
        () => this.sync?.datagramPort,
      ),
      onServed: (route, status) => this.metrics.peerRequestsServed.inc({ route, status: String(status) }),
      onAsked: (asker) => this.sync?.askedBy(asker),
    });
  }

  private clusterSync(): ClusterSync {
    return new ClusterSync(
      { ...this.c, directory: this.directory, local: this.local, metrics: this.metrics },
      {
        name: this.init.name,
        site: this.init.site,
        incarnation: this.init.incarnation,
        peerPort: this.peerPort,
        heartbeatMs: this.init.heartbeatMs,
        heartbeatScaling: this.init.heartbeatScaling,
        heartbeatBudget: this.init.heartbeatBudget,
        livenessPeriodMs:
          this.init.livenessPeriodMs ??
          (this.c.transport ? undefined : (this.init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) * MDNS_LIVENESS_FACTOR),
      },
    );
  }

  /** Extensions start after sync, with what they work with (see AgentContext). */
  private async startExtensions(sync: ClusterSync): Promise<void> {
    const ctx: AgentContext = {
      directory: this.directory,
      local: this.local,
      sync,
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
  }

  private async startApi(endpoint: { host: string; port: number }): Promise<void> {
    this.api = new ApiServer(
      {
        directory: this.directory,
        journal: this.journal,
        metrics: this.metrics,
        logger: this.c.logger,
        clock: this.c.clock,
        nodeMetrics: this.c.processMetrics?.full ? loadNodeMetricsAfterStart(this.c.logger) : undefined,
        readiness: () => this.readiness(),
        forget: (name) => this.forgetAgent(name),
        authorize: this.c.authorizeApi,
        routes: registrationRoutes(this.c, this.devices, this.metrics),
      },
      endpoint,
    );
    this.apiAddress = await this.api.start();
    this.apiSocket = this.init.apiSocket
      ? new ApiSocket(this.init.apiSocket, this.api.handlerFor('socket'))
      : undefined;
    await this.apiSocket?.start();
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
