import type { MqttClient } from 'mqtt';
import type { AgentContext, AgentExtension } from '../agent/agent.js';
import type { DirectoryEvent } from '../directory/records.js';
import type { TimerHandle } from '../util/clock.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { TokenBuckets } from '../util/token-bucket.js';
import { MqttConnection, redact } from './connection.js';
import { HA_PREFIX, type Availability } from './home-assistant.js';
import { ImportFollower } from './import-follow.js';
import { inScope, type PublicationScope } from './publication.js';
import { Publisher } from './publisher.js';
import { answerRequest, refuseRequest } from './requests.js';
import { RetainedState } from './retained-state.js';
import { Retirement } from './retirement.js';
import { agentPayload, eventPayload, Topics } from './topics.js';

export interface MqttBridgeInit {
  url: string;
  base: string;
  protocol: '5' | '3.1.1';
  mode: 'agent' | 'gateway';
  homeAssistant: boolean;
  importSites: string[];
  /** Answer `bridge/request/<command>` (devices, agents, get, forget); off unless configured. */
  requests?: boolean;
  /** A lost agent's retained state is cleared after this long (default a day). */
  retireAfterMs?: number;
  user?: string;
  passwordFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** How long retained messages are collected after subscribing, before ghosts are cleared. */
  retainedWindowMs?: number;
  /** The agent's local API as others reach it: Home Assistant's configuration URL of the agent. */
  configurationUrl?: string;
  /** Reported in Home Assistant's `origin` and in bridge/info. */
  softwareVersion?: string;
  /** Forgets owed to an absent broker are kept here across restarts (--state-dir). */
  stateDir?: string;
}

export const DEFAULT_RETIRE_AFTER_MS = 24 * 3_600_000;

/**
 * Requests run (all commands together): a `devices` answer is the whole directory, so 2,000 requests of
 * two bytes took the agent to 2.7 GB resident and its API stopped answering (attack16). A dashboard or an
 * automation asks a few at a time; past the rate a request gets error `rate-limited` without being run.
 */
export const REQUEST_RATE = {
  perSecond: 5,
  burst: 10,
  refusal: 'more than 5 requests a second (a burst of 10) on this publisher; this one was not run, ask again',
} as const;

/**
 * The directory on an MQTT broker (MQTT.js; MQTT 5 unless 3.1.1 is asked for), for Home Assistant,
 * Node-RED and other sites. This class decides *what* the broker should hold for the agents this
 * publisher speaks for (itself, or its whole site as a gateway), agent by agent; the connection, the
 * retained-state read-back, retirement and the import of other sites are each their own part.
 */
export class MqttBridge implements AgentExtension {
  readonly name = 'mqtt';
  private connection: MqttConnection | undefined;
  private ctx: AgentContext | undefined;
  private topics!: Topics;
  private scope!: PublicationScope;
  private state!: RetainedState;
  private follower!: ImportFollower;
  private retirement!: Retirement;
  private publisher!: Publisher;
  private haTimer: TimerHandle | undefined;
  private readonly unsubscribers: (() => void)[] = [];
  private badInputLog: RateLimitedLog | undefined;
  private requestRate: TokenBuckets | undefined;
  private log!: AgentContext['logger'];

  constructor(private readonly init: MqttBridgeInit) {}

  /** The agent's context: set by start(), before any callback can run. */
  private get c(): AgentContext {
    if (!this.ctx) throw new Error('the MQTT bridge is not started');
    return this.ctx;
  }

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.logger.child({ component: 'mqtt' });
    const id = ctx.identity;
    this.topics = new Topics(this.init.base, id.site);
    this.badInputLog = new RateLimitedLog(ctx.clock, 60_000);
    this.requestRate = new TokenBuckets(ctx.clock, REQUEST_RATE.perSecond, REQUEST_RATE.burst);
    this.state = new RetainedState(ctx, this.init.retainedWindowMs ?? 500);
    this.follower = this.createFollower(ctx);
    const gateway = this.init.mode === 'gateway';
    // The publisher's own state: a gateway's connection topic, or in agent mode the agent's own state.
    const availability: Availability = {
      topic: gateway ? this.topics.bridge('state', id.name) : this.topics.agent(id.name),
      template: '{{ value_json.state }}',
    };
    this.scope = {
      mode: this.init.mode,
      self: id.name,
      topics: this.topics,
      ha: this.init.homeAssistant ? { topics: this.topics, availability, version: this.version } : undefined,
      retireAfterMs: this.init.retireAfterMs ?? DEFAULT_RETIRE_AFTER_MS,
      configurationUrl: this.init.configurationUrl,
    };
    const hooks = { retire: (name: string) => this.retire(name), log: this.log, stateDir: this.init.stateDir };
    this.retirement = new Retirement(ctx, this.scope, this.state, hooks);
    await this.retirement.restore();
    const { mode, base, protocol, homeAssistant, importSites } = this.init;
    const summary = { version: this.version, mode, base, protocol, homeAssistant, importSites };
    this.publisher = new Publisher(ctx, this.scope, this.state, this.retirement, {
      ...summary,
      requests: this.init.requests ?? false,
    });
    const will = gateway
      ? JSON.stringify({ state: 'offline' })
      : agentPayload({ incarnation: id.incarnation, version: 0, address: id.address }, 'offline');
    this.connection = new MqttConnection(
      { clock: ctx.clock, random: ctx.random, logger: this.log },
      { ...this.init, clientId: `herald-${id.site}-${id.name}`, will: { topic: availability.topic, payload: will } },
      {
        onConnect: (client) => this.onConnect(client),
        onClose: () => this.state.detach(),
        onMessage: (topic, payload, retain) => this.onMessage(topic, payload, retain),
      },
    );
    ctx.metrics.registry.gauge(
      'herald_mqtt_connected',
      'Whether the MQTT bridge is connected to its broker (1) or not (0).',
      () => (this.connection?.connected ? 1 : 0),
    );
    this.unsubscribers.push(ctx.directory.subscribe((e) => this.onDirectoryEvent(e)));
    this.unsubscribers.push(ctx.local.onChange(() => this.publisher.markDirty(id.name)));
    this.retirement.start();
    await this.connection.start();
    this.log.info(
      { url: redact(this.init.url), mode: this.init.mode, protocol: this.init.protocol },
      'MQTT bridge connecting',
    );
  }

  /** Other sites' records: refusals are logged once a minute per bound, and counted each. */
  private createFollower(ctx: AgentContext): ImportFollower {
    const badInput = (reason: string, where: string, detail?: string) => this.badInput(reason, where, detail);
    const onRefused = (reason: string, where: string, detail?: string) => {
      if (this.badInputLog?.allow(`refused:${reason}`))
        this.log.warn({ bound: reason, topic: where, detail }, 'imported MQTT record refused: a bound is reached');
    };
    const quietMs = this.init.retainedWindowMs ?? 500;
    const opts = { sites: this.init.importSites, topics: this.topics, quietMs, log: this.log, badInput, onRefused };
    return new ImportFollower(ctx, opts);
  }

  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    for (const u of this.unsubscribers.splice(0)) u();
    this.ctx?.clock.clearTimeout(this.haTimer);
    if (this.ctx) {
      this.follower.stop();
      this.publisher.stop();
      await this.retirement.stop();
    }
    const ctx = this.ctx;
    if (!ctx || !this.connection) return;
    // A clean stop says offline itself: the broker sends no will after a DISCONNECT.
    const farewell = async (client: MqttClient) => {
      const id = ctx.identity;
      const offline =
        this.init.mode === 'gateway'
          ? JSON.stringify({ state: 'offline' })
          : agentPayload(
              { incarnation: id.incarnation, version: ctx.local.currentVersion, address: id.address },
              'offline',
            );
      const topic = this.scope.ha?.availability.topic ?? this.availabilityTopic();
      await client.publishAsync(topic, offline, { qos: 1, retain: true });
    };
    await this.connection.stop({ crash: !(opts.goodbye ?? true), farewell });
  }

  health(): { ok: boolean; detail?: string; critical?: boolean } {
    return this.connection?.health() ?? { ok: false, detail: 'not started', critical: false };
  }

  forget(name: string): string | undefined {
    this.retirement.forgotten(name);
    return this.retire(name) ? undefined : this.retirement.owe(name);
  }

  // ---- what the broker should hold ----------------------------------------------------------------

  private get version(): string {
    return this.init.softwareVersion ?? '0';
  }

  private availabilityTopic(): string {
    const self = this.c.identity.name;
    return this.init.mode === 'gateway' ? this.topics.bridge('state', self) : this.topics.agent(self);
  }

  /** Clears everything of an agent: what this publisher holds, and what the broker retains for it. */
  private retire(name: string): boolean {
    this.publisher.clearAgent(name);
    return this.retirement.purge(this.connection?.current, name);
  }

  private onConnect(client: MqttClient): void {
    void this.resync(client).catch((err: unknown) =>
      this.log.warn({ err: (err as Error).message }, 'MQTT resync failed; it runs again on the next connect'),
    );
  }

  /** After each connect: bring the broker in step, then follow imported sites, HA's status and requests. */
  private async resync(client: MqttClient): Promise<void> {
    const self = this.c.identity.name;
    const report = await this.state.sync(
      client,
      this.retirement.ownedFilters(),
      (t) => this.retirement.owns(t, this.init.mode === 'gateway' ? undefined : self),
      () => this.publisher.desired(),
    );
    if (!report) return;
    for (const name of this.retirement.owed()) this.retire(name);
    const follow: string[] = [];
    if (this.init.homeAssistant) follow.push(`${HA_PREFIX}/status`);
    if (this.init.requests) follow.push(this.topics.requests());
    if (follow.length > 0) await client.subscribeAsync(follow, { qos: 1 });
    await this.follower.readBack(client);
    this.log.info(report, 'MQTT state in step with the directory');
  }

  private onDirectoryEvent(e: DirectoryEvent): void {
    const ctx = this.c;
    const agent = ctx.directory.agent(e.agent);
    if (!agent || agent.remote || agent.site !== ctx.identity.site) return;
    // Every agent of the site is followed for retirement: in agent mode a dead peer cannot retire itself.
    if (e.type === 'agent-lost' || e.type === 'agent-left') this.retirement.lost(e.agent);
    else if (e.type === 'agent-joined') this.retirement.alive(e.agent);
    if (!inScope(this.scope, agent)) return;
    this.state.send(this.topics.events(), eventPayload(e, agent.site, new Date(ctx.clock.now()).toISOString()));
    this.publisher.markDirty(e.agent);
  }

  // ---- messages -----------------------------------------------------------------------------------

  private onMessage(topic: string, payload: Buffer, retain: boolean): void {
    const forSync = this.state.offer(topic, payload, retain);
    const forPurge = this.retirement.offer(topic, payload, retain);
    if (forSync || forPurge) return;
    if (topic === `${HA_PREFIX}/status`) {
      if (payload.toString('utf8') === 'online') this.scheduleHaRepublish();
      return;
    }
    const command = this.init.requests ? this.topics.requestCommand(topic) : undefined;
    if (command !== undefined) return this.onRequest(command, payload);
    const t = this.topics.parse(topic);
    if (!t || !this.init.importSites.includes(t.site) || t.site === this.c.identity.site) return;
    this.follower.import.enqueue(t.site, t.agent, t.kind === 'device' ? t.device : undefined, payload);
  }

  private onRequest(command: string, payload: Buffer): void {
    const ctx = this.c;
    const response = this.requestRate?.take('requests')
      ? answerRequest(command, payload, {
          directory: ctx.directory,
          forget: (name) => ctx.forgetAgent(name),
          index: () => ctx.journalIndex(),
          publisher: ctx.identity.name,
        })
      : refuseRequest(payload, ctx.identity.name, 'rate-limited', REQUEST_RATE.refusal);
    if (response.status === 'error') {
      ctx.metrics.invalidInput.inc({ source: 'mqtt', reason: `request-${response.error.code}` });
      if (this.badInputLog?.allow(`request:${command}:${response.error.code}`))
        this.log.warn({ command, code: response.error.code, detail: response.error.message }, 'MQTT request refused');
    }
    this.state.send(this.topics.response(command), JSON.stringify(response), { qos: 1 });
  }

  /** Home Assistant restarted: send the discovery configs again, after a random short delay (HA's advice). */
  private scheduleHaRepublish(): void {
    this.c.clock.clearTimeout(this.haTimer);
    this.haTimer = this.c.clock.setTimeout(
      () => {
        for (const [topic, payload] of this.state.entries()) {
          if (topic.startsWith(`${HA_PREFIX}/`)) this.state.send(topic, payload, { qos: 1, retain: true });
        }
      },
      500 + this.c.random() * 2500,
    );
    this.haTimer.unref?.();
  }

  private badInput(reason: string, where: string, detail?: string): void {
    this.c.metrics.invalidInput.inc({ source: 'mqtt', reason });
    if (this.badInputLog?.allow(`${where}:${reason}`))
      this.log.warn({ topic: where, reason, detail }, 'ignored an MQTT message that is not a valid record');
  }
}
