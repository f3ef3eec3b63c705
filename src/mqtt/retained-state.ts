import { createHash } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Clock } from '../util/clock.js';

/** What a read-back found and did: for the log line that says the broker is in step. */
export interface SyncReport {
  retained: number;
  cleared: number;
  published: number;
}

/**
 * The retained state this publisher owns on the broker. Publishing is of *state*, not a queue: while
 * the broker is away nothing is sent or buffered, and after each connect `sync` reads back what the
 * broker retains under the owned filters, clears what is no longer true and publishes what differs.
 */
export class RetainedState {
  /** What this publisher last published (retained), by topic: the state the broker should hold. */
  private readonly published = new Map<string, string>();
  private client: MqttClient | undefined;
  /** Retained messages seen under the owned filters while a read-back runs. */
  private collecting: { seen: Map<string, string>; owns: (topic: string) => boolean } | undefined;

  constructor(
    private readonly c: { clock: Clock },
    /** How long retained messages are collected after subscribing. */
    readonly windowMs: number,
  ) {}

  get(topic: string): string | undefined {
    return this.published.get(topic);
  }

  /** Drops a topic that was cleared by other means (a purge): nothing is sent. */
  forget(topic: string): void {
    this.published.delete(topic);
  }

  /** Topics published so far, for walks that clear a group of them. */
  topics(): IterableIterator<string> {
    return this.published.keys();
  }

  entries(): IterableIterator<[string, string]> {
    return this.published.entries();
  }

  /** The connection dropped: nothing is sent until the next sync. */
  detach(): void {
    this.client = undefined;
  }

  /** Takes a retained message while a read-back runs; false when it is not one of ours. */
  offer(topic: string, payload: Buffer, retain: boolean): boolean {
    if (!this.collecting || !retain || !this.collecting.owns(topic)) return false;
    // A digest, not the payload: anyone who may publish under the base can pile retained messages on our
    // topics (12 of 8 MiB held as strings were 140 MB more resident, attack16); a digest is all sync compares.
    if (payload.length > 0) this.collecting.seen.set(topic, digest(payload));
    return true;
  }

  /**
   * After a connect: read back what the broker retains under `filters`, clear what `desired` does not
   * hold (a device removed while the broker was down, or while this agent was stopped), publish what differs.
   */
  async sync(
    client: MqttClient,
    filters: string[],
    owns: (topic: string) => boolean,
    desired: () => Map<string, string>,
  ): Promise<SyncReport | undefined> {
    const seen = await this.readBack(client, filters, owns);
    if (!client.connected) return undefined;
    const want = desired();
    this.published.clear();
    let cleared = 0;
    for (const topic of seen.keys()) {
      if (want.has(topic)) continue;
      await client.publishAsync(topic, '', { qos: 1, retain: true });
      cleared += 1;
    }
    let published = 0;
    for (const [topic, payload] of want) {
      this.published.set(topic, payload);
      if (seen.get(topic) === digest(payload)) continue;
      await client.publishAsync(topic, payload, { qos: 1, retain: true });
      published += 1;
    }
    this.client = client;
    return { retained: seen.size, cleared, published };
  }

  /** Every retained message under `filters` that `owns` accepts, as the broker holds them now (by digest). */
  async readBack(
    client: MqttClient,
    filters: string[],
    owns: (topic: string) => boolean,
  ): Promise<Map<string, string>> {
    const collecting = { seen: new Map<string, string>(), owns };
    this.collecting = collecting;
    try {
      await client.subscribeAsync(filters, { qos: 1 });
      await this.window();
      await client.unsubscribeAsync(filters);
    } finally {
      if (this.collecting === collecting) this.collecting = undefined;
    }
    return collecting.seen;
  }

  /** Waits while the broker delivers what it retains under a fresh subscription. */
  window(): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = this.c.clock.setTimeout(resolve, this.windowMs);
      t.unref?.();
    });
  }

  publish(topic: string, payload: string): void {
    if (this.published.get(topic) === payload) return;
    this.published.set(topic, payload);
    // Disconnected: nothing is queued; sync() republishes the state on reconnect.
    if (this.client?.connected) this.client.publish(topic, payload, { qos: 1, retain: true });
  }

  clear(topic: string): void {
    if (!this.published.delete(topic)) return;
    if (this.client?.connected) this.client.publish(topic, '', { qos: 1, retain: true });
  }

  /** Sends one message that is not state (events, responses): dropped while disconnected. */
  send(topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean } = { qos: 0 }): void {
    if (this.client?.connected) this.client.publish(topic, payload, { qos: opts.qos, retain: opts.retain ?? false });
  }

  get inStep(): boolean {
    return this.client?.connected ?? false;
  }
}

/** What a read-back keeps of a retained payload: enough to tell whether it is the one we would publish. */
function digest(payload: Buffer | string): string {
  return createHash('sha256').update(payload).digest('base64');
}
