import { readFile } from 'node:fs/promises';
import mqttPkg from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { AgentContext, AgentExtension } from '../agent/agent.js';
import { computeDelta } from '../directory/delta.js';
import type { DeviceRecord, DirectoryEvent } from '../directory/records.js';
import type { Device } from '../profiles/model.js';
import { isObject, validateDevice } from '../profiles/validate.js';
import type { TimerHandle } from '../util/clock.js';
import { jitter } from '../util/random.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { haConfigPayload, haConfigTopic, haObjectId, HA_PREFIX } from './home-assistant.js';
import { agentPayload, devicePayload, eventPayload, Topics } from './topics.js';

const { connect } = mqttPkg;

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

type BridgeState = 'connecting' | 'connected' | 'disconnected';

/**
 * The directory on an MQTT broker (MQTT.js; MQTT 5 unless 3.1.1 is asked for), for Home Assistant,
 * Node-RED and other sites. Publishing is of *state*, not a queue: while the broker is away nothing
 * is buffered (memory stays flat), and on every (re)connect the bridge reads back what the broker
 * retains under its topics, clears what is gone (no ghosts), and republishes what differs.
 */
export class MqttBridge implements AgentExtension {
  readonly name = 'mqtt';
  private client: MqttClient | undefined;
  private ctx: AgentContext | undefined;
  private topics!: Topics;
  private state: BridgeState = 'connecting';
  private since = 0;
  private synced = false;
  private stopping = false;
  private failures = 0;
  private reconnectTimer: TimerHandle | undefined;
  private haTimer: TimerHandle | undefined;
  private lastError: string | undefined;
  private readonly unsubscribers: (() => void)[] = [];
  /** What this bridge last published (retained), by topic: the state the broker should hold. */
  private readonly published = new Map<string, string>();
  /** Remote devices imported from other sites, by origin key `agent@site`. */
  private readonly imported = new Map<string, { site: string; devices: Map<string, Device>; version: number }>();
  private badInputLog: RateLimitedLog | undefined;
  private log!: AgentContext['logger'];

  constructor(private readonly init: MqttBridgeInit) {}

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.logger.child({ component: 'mqtt' });
    this.topics = new Topics(this.init.base, ctx.identity.site);
    this.badInputLog = new RateLimitedLog(ctx.clock, 60_000);
    const id = ctx.identity;
    const options: IClientOptions = {
      clientId: `herald-${id.site}-${id.name}`, // stable across restarts, unique per site
      protocolVersion: this.init.protocol === '5' ? 5 : 4,
      clean: true,
      keepalive: 30,
      connectTimeout: 5_000,
      reconnectPeriod: 0, // reconnects are ours: jittered exponential backoff, one log line per state change
      queueQoSZero: false, // nothing piles up while the broker is away
      resubscribe: false, // resync() subscribes afresh after each connect
      will: {
        topic: this.topics.agent(id.name),
        payload: Buffer.from(agentPayload({ incarnation: id.incarnation, version: 0, address: id.address }, 'offline')),
        qos: 1,
        retain: true,
      },
    };
    if (this.init.user) options.username = this.init.user;
    if (this.init.passwordFile) options.password = (await readSecret(this.init.passwordFile, 'MQTT password')).trim();
    if (this.init.caFile) options.ca = await readSecret(this.init.caFile, 'MQTT CA certificate');
    if (this.init.certFile) options.cert = await readSecret(this.init.certFile, 'MQTT client certificate');
    if (this.init.keyFile) options.key = await readSecret(this.init.keyFile, 'MQTT client key');

    ctx.metrics.registry.gauge(
      'herald_mqtt_connected',
      'Whether the MQTT bridge is connected to its broker (1) or not (0).',
      () => (this.state === 'connected' ? 1 : 0),
    );
    this.unsubscribers.push(ctx.directory.subscribe((e) => this.onDirectoryEvent(e)));
    this.unsubscribers.push(ctx.local.onChange(() => this.publishOwnState()));
    this.since = ctx.clock.now();
    const client = connect(this.init.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      this.lastError = err.message;
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
    this.log.info(
      { url: redact(this.init.url), mode: this.init.mode, protocol: this.init.protocol },
      'MQTT bridge connecting',
    );
  }

  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    this.stopping = true;
    for (const u of this.unsubscribers.splice(0)) u();
    this.ctx?.clock.clearTimeout(this.reconnectTimer);
    this.ctx?.clock.clearTimeout(this.haTimer);
    const client = this.client;
    if (!client) return;
    if (!(opts.goodbye ?? true)) {
      client.end(true); // as a crash: the broker sends the last will
      return;
    }
    if (client.connected) {
      // A clean stop says offline itself: the broker sends no will after a DISCONNECT.
      const id = this.ctx!.identity;
      await client
        .publishAsync(
          this.topics.agent(id.name),
          agentPayload(
            { incarnation: id.incarnation, version: this.ctx!.local.currentVersion, address: id.address },
            'offline',
          ),
          { qos: 1, retain: true },
        )
        .catch(() => {});
    }
    await client.endAsync(false).catch(() => {});
  }

  health(): { ok: boolean; detail?: string; critical?: boolean } {
    const since = new Date(this.since).toISOString();
    const detail =
      this.state === 'connected'
        ? `connected to ${redact(this.init.url)} since ${since}`
        : `${this.state} (${this.lastError ?? 'no answer yet'}) since ${since}; the directory and LAN sync go on`;
    return { ok: this.state === 'connected', detail, critical: false };
  }

  // ---- connection -------------------------------------------------------------------------------

  private setState(state: BridgeState, detail?: string): void {
    if (state === this.state) return;
    this.state = state;
    this.since = this.ctx!.clock.now();
    if (state === 'connected') this.log.info({ url: redact(this.init.url) }, 'MQTT broker connected');
    else
      this.log.warn(
        { url: redact(this.init.url), err: detail },
        'MQTT broker unreachable; retrying with backoff, the directory goes on',
      );
  }

  private onConnect(): void {
    this.failures = 0;
    this.setState('connected');
    void this.resync().catch((err: unknown) =>
      this.log.warn({ err: (err as Error).message }, 'MQTT resync failed; it runs again on the next connect'),
    );
  }

  private onClose(): void {
    this.synced = false;
    if (this.stopping) return;
    this.setState('disconnected', this.lastError);
    this.failures += 1;
    const delay = jitter(this.ctx!.random, Math.min(1000 * 2 ** (this.failures - 1), 30_000), 0.3);
    this.ctx!.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.ctx!.clock.setTimeout(() => {
      if (!this.stopping) this.client?.reconnect();
    }, delay);
    this.reconnectTimer.unref?.();
  }

  // ---- state on the broker ----------------------------------------------------------------------

  /** What the broker should retain under the topics this bridge owns. */
  private desired(): Map<string, string> {
    const ctx = this.ctx!;
    const out = new Map<string, string>();
    const id = ctx.identity;
    const records =
      this.init.mode === 'gateway'
        ? ctx.directory.devices({ site: id.site })
        : ctx.directory.devices({ agent: id.name });
    for (const r of records) {
      out.set(this.topics.device(r.agent, r.id), devicePayload(r));
      if (this.init.homeAssistant)
        out.set(
          haConfigTopic(r.site, r.agent, r.id),
          haConfigPayload(r, this.topics, this.init.softwareVersion ?? '0'),
        );
    }
    for (const a of ctx.directory.agents()) {
      if (a.remote || a.site !== id.site || (this.init.mode === 'agent' && a.name !== id.name)) continue;
      if (a.version === 0 && !a.local) continue;
      out.set(this.topics.agent(a.name), agentPayload(a, a.state === 'alive' ? 'online' : 'offline'));
    }
    return out;
  }

  private ownedFilters(): string[] {
    const id = this.ctx!.identity;
    const filters =
      this.init.mode === 'gateway'
        ? [this.topics.devicesOf('+'), this.topics.agents()]
        : [this.topics.devicesOf(id.name)];
    if (this.init.homeAssistant) filters.push(`${HA_PREFIX}/device/+/config`);
    return filters;
  }

  private isOwned(topic: string): boolean {
    const id = this.ctx!.identity;
    if (topic.startsWith(`${HA_PREFIX}/device/`)) {
      const prefix = this.init.mode === 'gateway' ? `herald_${id.site}_` : haObjectId(id.site, id.name, '');
      return topic.slice(`${HA_PREFIX}/device/`.length).startsWith(prefix);
    }
    const t = this.topics.parse(topic);
    return !!t && t.site === id.site && (this.init.mode === 'gateway' || t.agent === id.name);
  }

  private retainedSeen: Map<string, string> | undefined;

  /**
   * After each connect: read back what the broker retains under our topics, clear what is no longer
   * true (a device removed while the broker was down, or while this agent was stopped), publish what
   * differs, then follow the imported sites and Home Assistant's status.
   */
  private async resync(): Promise<void> {
    const client = this.client!;
    this.retainedSeen = new Map();
    const owned = this.ownedFilters();
    await client.subscribeAsync(owned, { qos: 1 });
    await new Promise<void>((resolve) => {
      const t = this.ctx!.clock.setTimeout(resolve, this.init.retainedWindowMs ?? 500);
      t.unref?.();
    });
    await client.unsubscribeAsync(owned);
    const retained = this.retainedSeen;
    this.retainedSeen = undefined;
    if (!client.connected) return;
    const desired = this.desired();
    this.published.clear();
    let cleared = 0;
    for (const [topic] of retained) {
      if (!desired.has(topic)) {
        await client.publishAsync(topic, '', { qos: 1, retain: true });
        cleared += 1;
      }
    }
    let sent = 0;
    for (const [topic, payload] of desired) {
      this.published.set(topic, payload);
      if (retained.get(topic) === payload) continue;
      await client.publishAsync(topic, payload, { qos: 1, retain: true });
      sent += 1;
    }
    const follow = this.init.importSites.flatMap((site) => [
      this.topics.devicesOf('+', site),
      this.topics.agents(site),
    ]);
    if (this.init.homeAssistant) follow.push(`${HA_PREFIX}/status`);
    if (follow.length > 0) await client.subscribeAsync(follow, { qos: 1 });
    this.synced = true;
    this.log.info({ retained: retained.size, cleared, published: sent }, 'MQTT state in step with the directory');
  }

  private publishState(topic: string, payload: string): void {
    if (this.published.get(topic) === payload) return;
    this.published.set(topic, payload);
    // Disconnected: nothing is queued; resync() republishes the state on reconnect.
    if (!this.synced || !this.client?.connected) return;
    this.client.publish(topic, payload, { qos: 1, retain: true });
  }

  private clearState(topic: string): void {
    if (!this.published.has(topic)) return;
    this.published.delete(topic);
    if (!this.synced || !this.client?.connected) return;
    this.client.publish(topic, '', { qos: 1, retain: true });
  }

  private publishOwnState(): void {
    const info = this.ctx!.directory.agent(this.ctx!.identity.name);
    if (info) this.publishState(this.topics.agent(info.name), agentPayload(info, 'online'));
  }

  private mine(record: DeviceRecord): boolean {
    const id = this.ctx!.identity;
    return record.site === id.site && (this.init.mode === 'gateway' || record.agent === id.name);
  }

  private onDirectoryEvent(e: DirectoryEvent): void {
    const ctx = this.ctx!;
    const id = ctx.identity;
    const agent = ctx.directory.agent(e.agent);
    if (!agent || agent.remote) return;
    const ours = this.init.mode === 'gateway' || e.agent === id.name;
    if (!ours) return;
    if (this.synced && this.client?.connected) {
      this.client.publish(this.topics.events(), eventPayload(e, id.site, new Date(ctx.clock.now()).toISOString()), {
        qos: 0,
      });
    }
    if (e.type === 'device-added' || e.type === 'device-updated') {
      if (!this.mine(e.device)) return;
      this.publishState(this.topics.device(e.agent, e.device.id), devicePayload(e.device));
      if (this.init.homeAssistant)
        this.publishState(
          haConfigTopic(e.device.site, e.agent, e.device.id),
          haConfigPayload(e.device, this.topics, this.init.softwareVersion ?? '0'),
        );
    } else if (e.type === 'device-removed') {
      this.clearState(this.topics.device(e.agent, e.id));
      if (this.init.homeAssistant) this.clearState(haConfigTopic(id.site, e.agent, e.id));
    } else if (this.init.mode === 'gateway' && 'info' in e) {
      // In gateway mode the directory's view of each agent is published; a lost or gone agent's devices go.
      this.publishState(
        this.topics.agent(e.agent),
        agentPayload(e.info, e.type === 'agent-joined' ? 'online' : 'offline'),
      );
      if (e.type !== 'agent-joined') {
        for (const topic of [...this.published.keys()]) {
          const t = this.topics.parse(topic);
          if (t?.kind === 'device' && t.agent === e.agent && t.site === id.site) this.clearState(topic);
        }
      }
    }
  }

  // ---- messages -----------------------------------------------------------------------------------

  private onMessage(topic: string, payload: Buffer, retain: boolean): void {
    if (this.retainedSeen && retain && this.isOwned(topic)) {
      if (payload.length > 0) this.retainedSeen.set(topic, payload.toString('utf8'));
      return;
    }
    if (topic === `${HA_PREFIX}/status`) {
      if (payload.toString('utf8') === 'online') this.scheduleHaRepublish();
      return;
    }
    const t = this.topics.parse(topic);
    if (!t || !this.init.importSites.includes(t.site) || t.site === this.ctx!.identity.site) return;
    if (t.kind === 'agent') this.onImportedAgent(t.site, t.agent, payload);
    else this.onImportedDevice(t.site, t.agent, t.device, payload);
  }

  /** Home Assistant restarted: send the discovery configs again, after a random short delay (HA's advice). */
  private scheduleHaRepublish(): void {
    this.ctx!.clock.clearTimeout(this.haTimer);
    this.haTimer = this.ctx!.clock.setTimeout(
      () => {
        if (!this.client?.connected) return;
        for (const [topic, payload] of this.published) {
          if (topic.startsWith(`${HA_PREFIX}/`)) this.client.publish(topic, payload, { qos: 1, retain: true });
        }
      },
      500 + this.ctx!.random() * 2500,
    );
    this.haTimer.unref?.();
  }

  private onImportedAgent(site: string, agent: string, payload: Buffer): void {
    let state: unknown;
    try {
      state = payload.length === 0 ? { state: 'offline' } : JSON.parse(payload.toString('utf8'));
    } catch {
      return this.badInput('agent-json', `${site}/${agent}`);
    }
    if (!isObject(state) || (state.state !== 'online' && state.state !== 'offline'))
      return this.badInput('agent-state', `${site}/${agent}`);
    if (state.state === 'offline') {
      const key = `${agent}@${site}`;
      this.imported.delete(key);
      this.ctx!.directory.forget(key);
    }
  }

  private onImportedDevice(site: string, agent: string, device: string, payload: Buffer): void {
    const key = `${agent}@${site}`;
    let entry = this.imported.get(key);
    if (payload.length === 0) {
      if (!entry?.devices.has(device)) return;
      const next = new Map(entry.devices);
      next.delete(device);
      return this.applyImported(key, site, entry, next);
    }
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.badInput('device-json', `${site}/${agent}/${device}`);
    }
    if (isObject(value)) {
      delete value.agent;
      delete value.site;
      delete value.origin;
    }
    const result = validateDevice(value);
    if (!result.ok || result.device.id !== device)
      return this.badInput(
        'device',
        `${site}/${agent}/${device}`,
        result.ok ? 'id does not match the topic' : result.errors[0].message,
      );
    entry ??= { site, devices: new Map(), version: 0 };
    const next = new Map(entry.devices);
    next.set(device, result.device);
    this.applyImported(key, site, entry, next);
  }

  private applyImported(
    key: string,
    site: string,
    entry: { site: string; devices: Map<string, Device>; version: number },
    next: Map<string, Device>,
  ): void {
    const directory = this.ctx!.directory;
    this.imported.set(key, entry);
    directory.ensureOrigin(key, { site, remote: true });
    const delta = computeDelta(entry.devices, [...next.values()], entry.version + 1);
    entry.version = delta.version;
    entry.devices = next;
    directory.applyDeltas(key, 1, [delta]);
    if (next.size === 0) {
      this.imported.delete(key);
      directory.forget(key);
    }
  }

  private badInput(reason: string, where: string, detail?: string): void {
    this.ctx!.metrics.invalidInput.inc({ source: 'mqtt', reason });
    if (this.badInputLog?.allow(`${where}:${reason}`))
      this.log.warn({ topic: where, reason, detail }, 'ignored an MQTT message that is not a valid record');
  }
}

async function readSecret(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** A URL without its password, for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
