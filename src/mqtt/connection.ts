import { readFile } from 'node:fs/promises';
import mqttPkg from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { jitter, type Random } from '../util/random.js';

const { connect } = mqttPkg;

/**
 * The largest MQTT packet the agent takes (MQTT 5 Maximum Packet Size, sent in CONNECT): the broker
 * discards a larger message for this client instead of sending it (MQTT 5 3.1.2.11.4). What the agent
 * reads is small (records of 64 KiB at most, requests, HA status) but for the read-back of its own
 * retained state, whose largest topic (bridge/devices: the site's devices) stays well under this at the
 * import's 5,000 devices. Without it, one retained message of 150 MB on one of the agent's own topics,
 * published by any client with write access to the base, took the agent from 74 to 522 MB resident
 * at every connect (attack16). MQTT 3.1.1 has no such field: there the broker's message_size_limit
 * is the only bound (docs/mqtt.md).
 */
export const MQTT_MAX_PACKET_BYTES = 16 * 1024 * 1024;

export interface ConnectionInit {
  url: string;
  protocol: '5' | '3.1.1';
  clientId: string;
  user?: string;
  passwordFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** The last will: what the broker says for this publisher when its connection drops unannounced. */
  will: { topic: string; payload: string };
}

export interface ConnectionHandlers {
  onConnect(client: MqttClient): void;
  onClose(): void;
  onMessage(topic: string, payload: Buffer, retain: boolean): void;
}

type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/**
 * The broker connection: MQTT.js with our own jittered exponential backoff (one log line per state
 * change, not per retry), nothing queued while the broker is away, and a health line for /readyz.
 */
export class MqttConnection {
  private client: MqttClient | undefined;
  private state: ConnectionState = 'connecting';
  private since: number;
  private failures = 0;
  private stopping = false;
  private reconnectTimer: TimerHandle | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly c: { clock: Clock; random: Random; logger: Logger },
    private readonly init: ConnectionInit,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.since = c.clock.now();
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** The client, while the broker is connected. */
  get current(): MqttClient | undefined {
    return this.client?.connected ? this.client : undefined;
  }

  async start(): Promise<void> {
    const options: IClientOptions = {
      clientId: this.init.clientId, // stable across restarts
      protocolVersion: this.init.protocol === '5' ? 5 : 4,
      clean: true,
      keepalive: 30,
      connectTimeout: 5_000,
      reconnectPeriod: 0, // reconnects are ours: jittered exponential backoff, one log line per state change
      queueQoSZero: false, // nothing piles up while the broker is away
      // mqtt-packet otherwise makes 65,536 two-byte Buffers at the first write, a cache of packet ids: 6.3 MB
      // of heap (a heap snapshot of the unit), for speed the agent does not need (docs/mqtt.md).
      writeCache: false,
      resubscribe: false, // the bridge subscribes afresh after each connect
      ...(this.init.protocol === '5' ? { properties: { maximumPacketSize: MQTT_MAX_PACKET_BYTES } } : {}),
      will: { topic: this.init.will.topic, payload: Buffer.from(this.init.will.payload), qos: 1, retain: true },
    };
    if (this.init.user) options.username = this.init.user;
    if (this.init.passwordFile) options.password = (await readSecret(this.init.passwordFile, 'MQTT password')).trim();
    if (this.init.caFile) options.ca = await readSecret(this.init.caFile, 'MQTT CA certificate');
    if (this.init.certFile) options.cert = await readSecret(this.init.certFile, 'MQTT client certificate');
    if (this.init.keyFile) options.key = await readSecret(this.init.keyFile, 'MQTT client key');
    this.since = this.c.clock.now();
    const client = connect(this.init.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      this.lastError = err.message;
    });
    client.on('message', (topic, payload, packet) => this.handlers.onMessage(topic, payload, packet.retain));
  }

  /** Ends the connection: `crash` drops it so that the broker sends the last will. */
  async stop(opts: { crash: boolean; farewell?: (client: MqttClient) => Promise<void> }): Promise<void> {
    this.stopping = true;
    this.c.clock.clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    if (opts.crash) {
      client.end(true);
      return;
    }
    if (client.connected && opts.farewell) await opts.farewell(client).catch(() => {});
    await client.endAsync(false).catch(() => {});
  }

  health(): { ok: boolean; detail?: string; critical?: boolean } {
    const since = new Date(this.since).toISOString();
    const url = redact(this.init.url);
    const detail =
      this.state === 'connected'
        ? `connected to ${url} since ${since}`
        : `${this.state} (${this.lastError ?? 'no answer yet'}) since ${since}; the directory and LAN sync go on`;
    return { ok: this.state === 'connected', detail, critical: false };
  }

  private setState(state: ConnectionState, detail?: string): void {
    if (state === this.state) return;
    this.state = state;
    this.since = this.c.clock.now();
    const url = redact(this.init.url);
    if (state === 'connected') this.c.logger.info({ url }, 'MQTT broker connected');
    else
      this.c.logger.warn({ url, err: detail }, 'MQTT broker unreachable; retrying with backoff, the directory goes on');
  }

  private onConnect(client: MqttClient): void {
    // A change is a burst of small publishes (agent state, device records, an event): with Nagle's
    // algorithm each write after the first waits for the broker's delayed ACK, ~40 ms on Linux.
    (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    this.failures = 0;
    this.setState('connected');
    this.handlers.onConnect(client);
  }

  private onClose(): void {
    this.handlers.onClose();
    if (this.stopping) return;
    this.setState('disconnected', this.lastError);
    this.failures += 1;
    const delay = jitter(this.c.random, Math.min(1000 * 2 ** (this.failures - 1), 30_000), 0.3);
    this.c.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.c.clock.setTimeout(() => {
      if (!this.stopping) this.client?.reconnect();
    }, delay);
    this.reconnectTimer.unref?.();
  }
}

async function readSecret(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
}

/** A URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
