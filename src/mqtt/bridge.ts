import type { MqttClient } from 'mqtt';
import type { AgentContext, AgentExtension } from '../agent/agent.js';
import type { DeviceRecord, DirectoryEvent } from '../directory/records.js';
import type { TimerHandle } from '../util/clock.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { MqttConnection, redact } from './connection.js';
import { haConfigPayload, haConfigTopic, haObjectId, HA_PREFIX } from './home-assistant.js';
import { RetainedState } from './retained-state.js';
import { SiteImport } from './site-import.js';
import { agentPayload, devicePayload, eventPayload, Topics } from './topics.js';

export interface MqttBridgeInit {
  url: string;
  base: string;
  protocol: '5' | '3.1.1';
  mode: 'agent' | 'gateway';
  homeAssistant: boolean;
  importSites: string[];
  user?: string;
  passwordFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** How long retained messages are collected after subscribing, before ghosts are cleared. */
  retainedWindowMs?: number;
  /** Reported in Home Assistant's `origin`. */
  softwareVersion?: string;
}

/**
 * The directory on an MQTT broker (MQTT.js; MQTT 5 unless 3.1.1 is asked for), for Home Assistant,
 * Node-RED and other sites. This class decides *what* the broker should hold (the topics this
 * publisher owns, in agent or gateway mode); the connection, the retained-state read-back and the
 * import of other sites are each their own part.
 */
export class MqttBridge implements AgentExtension {
  readonly name = 'mqtt';
  private connection: MqttConnection | undefined;
  private ctx: AgentContext | undefined;
  private topics!: Topics;
  private state!: RetainedState;
  private import!: SiteImport;
  private haTimer: TimerHandle | undefined;
  private readonly unsubscribers: (() => void)[] = [];
  private badInputLog: RateLimitedLog | undefined;
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
    this.topics = new Topics(this.init.base, ctx.identity.site);
    this.badInputLog = new RateLimitedLog(ctx.clock, 60_000);
    this.state = new RetainedState(ctx, this.init.retainedWindowMs ?? 500);
    this.import = new SiteImport(
      { directory: ctx.directory, badInput: (reason, where, detail) => this.badInput(reason, where, detail) },
      this.init.importSites,
    );
    const id = ctx.identity;
    this.connection = new MqttConnection(
      { clock: ctx.clock, random: ctx.random, logger: this.log },
      {
        ...this.init,
        clientId: `herald-${id.site}-${id.name}`, // stable across restarts, unique per site
        will: {
          topic: this.topics.agent(id.name),
          payload: agentPayload({ incarnation: id.incarnation, version: 0, address: id.address }, 'offline'),
        },
      },
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
    this.unsubscribers.push(ctx.local.onChange(() => this.publishOwnState()));
    await this.connection.start();
    this.log.info(
      { url: redact(this.init.url), mode: this.init.mode, protocol: this.init.protocol },
      'MQTT bridge connecting',
    );
  }

  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    for (const u of this.unsubscribers.splice(0)) u();
    this.ctx?.clock.clearTimeout(this.haTimer);
    const ctx = this.ctx;
    if (!ctx || !this.connection) return;
    // A clean stop says offline itself: the broker sends no will after a DISCONNECT.
    const farewell = async (client: MqttClient) => {
      const id = ctx.identity;
      const info = { incarnation: id.incarnation, version: ctx.local.currentVersion, address: id.address };
      await client.publishAsync(this.topics.agent(id.name), agentPayload(info, 'offline'), { qos: 1, retain: true });
    };
    await this.connection.stop({ crash: !(opts.goodbye ?? true), farewell });
  }

  health(): { ok: boolean; detail?: string; critical?: boolean } {
    return this.connection?.health() ?? { ok: false, detail: 'not started', critical: false };
  }

  // ---- what the broker should hold ----------------------------------------------------------------

  /** What the broker should retain under the topics this bridge owns. */
  private desired(): Map<string, string> {
    const ctx = this.c;
    const out = new Map<string, string>();
    const id = ctx.identity;
    const records =
      this.init.mode === 'gateway'
        ? ctx.directory.devices({ site: id.site })
        : ctx.directory.devices({ agent: id.name });
    for (const r of records) {
      out.set(this.topics.device(r.agent, r.id), devicePayload(r));
      if (this.init.homeAssistant)
        out.set(haConfigTopic(r.site, r.agent, r.id), haConfigPayload(r, this.topics, this.version));
    }
    for (const a of ctx.directory.agents()) {
      if (a.remote || a.site !== id.site || (this.init.mode === 'agent' && a.name !== id.name)) continue;
      if (a.version === 0 && !a.local) continue;
      out.set(this.topics.agent(a.name), agentPayload(a, a.state === 'alive' ? 'online' : 'offline'));
    }
    return out;
  }

  private get version(): string {
    return this.init.softwareVersion ?? '0';
  }

  private ownedFilters(): string[] {
    const id = this.c.identity;
    const filters =
      this.init.mode === 'gateway'
        ? [this.topics.devicesOf('+'), this.topics.agents()]
        : [this.topics.devicesOf(id.name)];
    if (this.init.homeAssistant) filters.push(`${HA_PREFIX}/device/+/config`);
    return filters;
  }

  private isOwned(topic: string): boolean {
    const id = this.c.identity;
    if (topic.startsWith(`${HA_PREFIX}/device/`)) {
      const prefix = this.init.mode === 'gateway' ? `herald_${id.site}_` : haObjectId(id.site, id.name, '');
      return topic.slice(`${HA_PREFIX}/device/`.length).startsWith(prefix);
    }
    const t = this.topics.parse(topic);
    return !!t && t.site === id.site && (this.init.mode === 'gateway' || t.agent === id.name);
  }

  /**
   * After each connect: bring the broker in step with the directory, then follow the imported sites
   * and Home Assistant's status.
   */
  private onConnect(client: MqttClient): void {
    void this.resync(client).catch((err: unknown) =>
      this.log.warn({ err: (err as Error).message }, 'MQTT resync failed; it runs again on the next connect'),
    );
  }

  private async resync(client: MqttClient): Promise<void> {
    const report = await this.state.sync(
      client,
      this.ownedFilters(),
      (t) => this.isOwned(t),
      () => this.desired(),
    );
    if (!report) return;
    const follow = this.init.importSites.flatMap((site) => [
      this.topics.devicesOf('+', site),
      this.topics.agents(site),
    ]);
    if (this.init.homeAssistant) follow.push(`${HA_PREFIX}/status`);
    if (follow.length > 0) await client.subscribeAsync(follow, { qos: 1 });
    this.log.info(report, 'MQTT state in step with the directory');
  }

  private publishOwnState(): void {
    const info = this.c.directory.agent(this.c.identity.name);
    if (info) this.state.publish(this.topics.agent(info.name), agentPayload(info, 'online'));
  }

  private mine(record: DeviceRecord): boolean {
    const id = this.c.identity;
    return record.site === id.site && (this.init.mode === 'gateway' || record.agent === id.name);
  }

  private onDirectoryEvent(e: DirectoryEvent): void {
    const ctx = this.c;
    const id = ctx.identity;
    const agent = ctx.directory.agent(e.agent);
    if (!agent || agent.remote) return;
    const ours = this.init.mode === 'gateway' || e.agent === id.name;
    if (!ours) return;
    this.state.send(this.topics.events(), eventPayload(e, id.site, new Date(ctx.clock.now()).toISOString()));
    if (e.type === 'device-added' || e.type === 'device-updated') {
      if (!this.mine(e.device)) return;
      this.state.publish(this.topics.device(e.agent, e.device.id), devicePayload(e.device));
      if (this.init.homeAssistant)
        this.state.publish(
          haConfigTopic(e.device.site, e.agent, e.device.id),
          haConfigPayload(e.device, this.topics, this.version),
        );
    } else if (e.type === 'device-removed') {
      this.state.clear(this.topics.device(e.agent, e.id));
      if (this.init.homeAssistant) this.state.clear(haConfigTopic(id.site, e.agent, e.id));
    } else if (this.init.mode === 'gateway' && 'info' in e) {
      // In gateway mode the directory's view of each agent is published; a lost or gone agent's devices go.
      this.state.publish(
        this.topics.agent(e.agent),
        agentPayload(e.info, e.type === 'agent-joined' ? 'online' : 'offline'),
      );
      if (e.type !== 'agent-joined') {
        for (const topic of [...this.state.topics()]) {
          const t = this.topics.parse(topic);
          if (t?.kind === 'device' && t.agent === e.agent && t.site === id.site) this.state.clear(topic);
        }
      }
    }
  }

  // ---- messages -----------------------------------------------------------------------------------

  private onMessage(topic: string, payload: Buffer, retain: boolean): void {
    if (this.state.offer(topic, payload, retain)) return;
    if (topic === `${HA_PREFIX}/status`) {
      if (payload.toString('utf8') === 'online') this.scheduleHaRepublish();
      return;
    }
    const t = this.topics.parse(topic);
    if (!t || !this.init.importSites.includes(t.site) || t.site === this.c.identity.site) return;
    if (t.kind === 'agent') this.import.onAgent(t.site, t.agent, payload);
    else this.import.onDevice(t.site, t.agent, t.device, payload);
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
