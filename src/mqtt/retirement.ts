import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { AgentContext } from '../agent/agent.js';
import type { TimerHandle } from '../util/clock.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { HA_PREFIX, haObjectId, haObjectIdOf, haObjectPrefix } from './home-assistant.js';
import { OwedForgetsFile } from './owed-forgets.js';
import type { PublicationScope } from './publication.js';
import type { RetainedState } from './retained-state.js';

/** An agent's retained state (`{"state":"online",...}`) is a few dozen bytes; a larger one is not read. */
const STATE_PAYLOAD_BYTES = 4096;
/**
 * Forgets kept for the next connect: a forget is an operator's command, a few at a time. Past this a new one is
 * refused, counted and logged (the list kept: a flood of forgets of made-up names pushed the real ones out unsaid).
 */
const OWED_FORGETS = 256;
/** Refused forgets are logged at most once in this (with the count since the last line): a flood is no log flood. */
const REFUSED_LOG_MS = 60_000;
/** In the state folder, beside identity.json. */
const OWED_FILE = 'mqtt-owed-forgets.json';

/**
 * Which retained topics belong to this publisher, and when an agent's go. An agent lost for longer
 * than the retirement time, or forgotten, has everything retained for it under this base and site
 * cleared: what this publisher published, and what the agent published itself in agent mode (read
 * back from the broker), so that a killed or renamed host leaves no ghost.
 */
export class Retirement {
  /** Agents of this site last seen alive at, while they are lost or left. */
  private readonly lostSince = new Map<string, number>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** Retained topics of agents being purged, by agent, while the read-back runs. */
  private readonly purging = new Map<string, Map<string, string>>();
  /** Names forgotten while the broker was away, oldest first (owe), until their purge has run. */
  private readonly forgets = new Set<string>();
  private readonly file: OwedForgetsFile | undefined;
  /** Forgets refused (the list full) since the last line that said so. */
  private refused = 0;
  private readonly refusals: RateLimitedLog;

  constructor(
    private readonly c: Pick<AgentContext, 'clock' | 'directory' | 'identity' | 'metrics'>,
    private readonly scope: PublicationScope,
    private readonly state: RetainedState,
    /** `retire` says whether the broker could be told (connected); if not, it is tried again next sweep. */
    private readonly hooks: {
      retire(name: string): boolean;
      log: AgentContext['logger'];
      /** Where owed forgets outlive a restart (the state folder); in memory only without one. */
      stateDir?: string;
    },
  ) {
    const dir = hooks.stateDir;
    this.file = dir === undefined ? undefined : new OwedForgetsFile(join(dir, OWED_FILE), hooks.log, OWED_FORGETS);
    this.refusals = new RateLimitedLog(c.clock, REFUSED_LOG_MS);
  }

  /** The forgets a previous run of this agent still owed: purged after the first connect. */
  async restore(): Promise<void> {
    for (const name of (await this.file?.load()) ?? []) this.forgets.add(name);
  }

  start(): void {
    const period = Math.max(1_000, Math.min(this.scope.retireAfterMs / 4, 60_000));
    const tick = () => {
      if (this.stopped) return;
      this.sweep();
      this.timer = this.c.clock.setTimeout(tick, period);
      this.timer.unref?.();
    };
    this.timer = this.c.clock.setTimeout(tick, period);
    this.timer.unref?.();
  }

  /** Stops sweeping; resolves once the owed forgets are on disk. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.c.clock.clearTimeout(this.timer);
    await this.file?.flushed();
  }

  lost(name: string): void {
    if (name === this.c.identity.name || this.lostSince.has(name)) return;
    const info = this.c.directory.agent(name);
    this.lostSince.set(name, info ? Date.parse(info.lastSeen) : this.c.clock.now());
  }

  alive(name: string): void {
    this.lostSince.delete(name);
    // Back before the broker was: a forget owed for it would clear a live agent (attacks/mqtt-forget-readd).
    this.settle(name);
  }

  forgotten(name: string): void {
    this.lostSince.delete(name);
  }

  /**
   * A forget that found the broker away (a bridge still connecting after its start, or cut off): purged after the
   * next connect. Before, agent mode never cleared it: `herald forget` through a just-restarted agent answered 0 and
   * the old name's retained state stayed until the broker's next restart (mqtt-ha's rename, under load). A refused
   * one is said to the one who asked, not only logged: it was told "forgotten" (attacks/forget-refused-said).
   */
  owe(name: string): string | undefined {
    if (!this.keep(name))
      return (
        `the broker is away and ${OWED_FORGETS} MQTT forgets are owed already: its retained state stays; ` +
        'forget it again once the broker is back'
      );
    this.hooks.log.warn({ agent: name }, 'forgotten while the broker is away: its MQTT state is cleared on reconnect');
    return undefined;
  }

  /** Owes the purge of `name`; false if the list is full (OWED_FORGETS) and the name not in it: refused. */
  private keep(name: string): boolean {
    if (!this.forgets.has(name) && this.forgets.size >= OWED_FORGETS) return this.refuse(name);
    this.forgets.delete(name);
    this.forgets.add(name);
    this.file?.save([...this.forgets]);
    return true;
  }

  /** A forget that does not fit: its retained state stays until it is forgotten again with the broker there. */
  private refuse(name: string): false {
    this.c.metrics.invalidInput.inc({ source: 'mqtt', reason: 'owed-forgets-full' });
    this.refused += 1;
    if (!this.refusals.allow('full')) return false;
    const detail = { agent: name, refused: this.refused, limit: OWED_FORGETS };
    this.hooks.log.error(detail, 'owed MQTT forgets full: forget refused; forget it again once the broker is back');
    this.refused = 0;
    return false;
  }

  /** A forget no longer owed: its purge ran, or the name is alive again. */
  private settle(name: string): void {
    if (this.forgets.delete(name)) this.file?.save([...this.forgets]);
  }

  /**
   * The forgets owed, each purged once connected; a name leaves the list when its purge has run (a crash before
   * that owes it again at the next start). Not one alive again by then: a gateway's retire clears what it
   * publishes for the name before the purge looks, and that cleared a live agent's state and devices.
   */
  owed(): string[] {
    for (const name of [...this.forgets]) if (this.c.directory.agent(name)?.state === 'alive') this.settle(name);
    return [...this.forgets];
  }

  /** Lost agents the directory has forgotten but whose records are still kept (not yet retired). */
  *held(): Iterable<string> {
    for (const name of this.lostSince.keys()) if (!this.c.directory.agent(name) && this.holds(name)) yield name;
  }

  holds(name: string): boolean {
    const since = this.lostSince.get(name);
    return since !== undefined && this.c.clock.now() - since <= this.scope.retireAfterMs;
  }

  private sweep(): void {
    for (const [name, since] of [...this.lostSince]) {
      if (this.c.clock.now() - since <= this.scope.retireAfterMs) continue;
      if (this.c.directory.agent(name)?.state === 'alive') {
        this.lostSince.delete(name);
        continue;
      }
      if (!this.hooks.retire(name)) continue; // the broker is away: next sweep
      this.lostSince.delete(name);
      this.hooks.log.info({ agent: name, lostSince: new Date(since).toISOString() }, 'agent retired from MQTT');
    }
  }

  /** What this publisher reads back after a connect: the topics it may own. */
  ownedFilters(): string[] {
    const t = this.scope.topics;
    const self = this.c.identity.name;
    const gateway = this.scope.mode === 'gateway';
    const filters = [t.devicesOf(gateway ? '+' : self), gateway ? t.agents() : t.agent(self), t.bridge('state', '+')];
    filters.push(t.bridge('info', '+'), t.bridge('devices', '+'));
    if (this.scope.ha) filters.push(`${HA_PREFIX}/device/+/config`);
    return filters;
  }

  /** Whether a retained topic is this publisher's (of agent `agent` only, when given). */
  owns(topic: string, agent?: string): boolean {
    const t = this.scope.topics;
    const self = this.c.identity.name;
    const bridgePrefix = `${t.base}/${t.site}/bridge/`;
    if (topic.startsWith(bridgePrefix)) {
      const parts = topic.slice(bridgePrefix.length).split('/');
      return parts.length === 2 && ['state', 'info', 'devices'].includes(parts[0]) && parts[1] === (agent ?? self);
    }
    const objectId = haObjectIdOf(topic);
    if (objectId !== undefined) {
      if (!this.scope.ha && agent === undefined) return false;
      if (agent === undefined) return objectId.startsWith(haObjectPrefix(t.base, t.site));
      return (
        objectId === haObjectId(t.base, t.site, agent) || objectId.startsWith(haObjectPrefix(t.base, t.site, agent))
      );
    }
    const parsed = t.parse(topic);
    return !!parsed && parsed.site === t.site && (agent === undefined || parsed.agent === agent);
  }

  /**
   * Clears whatever the broker retains for `name` under this base and site (its state, devices,
   * bridge topics and Home Assistant entries), whoever published it. Without a connection nothing is
   * sent: a gateway's read-back after the next connect clears them; in agent mode they wait for the
   * next retirement or forget.
   */
  purge(client: MqttClient | undefined, name: string): boolean {
    if (!client) return false;
    if (this.purging.has(name)) return true;
    const t = this.scope.topics;
    const filters = [t.agent(name), t.devicesOf(name), t.bridge('state', name), t.bridge('info', name)];
    filters.push(t.bridge('devices', name), `${HA_PREFIX}/device/+/config`);
    const found = new Map<string, string>();
    this.purging.set(name, found);
    const run = async () => {
      await client.subscribeAsync(filters, { qos: 1 });
      await this.state.window();
      await client.unsubscribeAsync(filters);
      if (this.c.directory.agent(name)?.state === 'alive') return this.settle(name); // it came back meanwhile
      // An agent this directory does not know may be alive elsewhere (another LAN on the same broker).
      if (saysOnline(found.get(t.agent(name)))) {
        this.settle(name);
        this.hooks.log.warn({ agent: name }, 'not clearing the MQTT state of an agent that says it is online');
        return;
      }
      for (const topic of found.keys()) {
        this.state.forget(topic);
        await client.publishAsync(topic, '', { qos: 1, retain: true });
      }
      this.settle(name);
      this.hooks.log.info({ agent: name, cleared: found.size }, 'retained MQTT state of a retired agent cleared');
    };
    // A purge the broker's loss cut off (its read-back or clears refused: "Connection closed") is owed as a forget
    // that found the broker away; before, it was logged and dropped, a ghost for good (attacks/mqtt-purge-flap).
    const failed = (err: unknown) => {
      this.keep(name);
      this.hooks.log.warn(
        { agent: name, err: (err as Error).message },
        'MQTT purge failed; it runs again on reconnect',
      );
    };
    void run()
      .catch(failed)
      .finally(() => this.purging.delete(name));
    return true;
  }

  /** Takes a retained message while a purge reads back; false when it is not one. */
  offer(topic: string, payload: Buffer, retain: boolean): boolean {
    if (!retain || this.purging.size === 0) return false;
    let taken = false;
    for (const [name, found] of this.purging) {
      if (!this.owns(topic, name)) continue;
      // Only an agent state is read (does it say online?); other payloads are not kept (attack16: piles of them).
      if (payload.length > 0) found.set(topic, payload.length <= STATE_PAYLOAD_BYTES ? payload.toString('utf8') : '');
      taken = true;
    }
    return taken;
  }
}

/** Whether a retained agent state says online. */
function saysOnline(payload: string | undefined): boolean {
  if (!payload) return false;
  try {
    return (JSON.parse(payload) as { state?: unknown }).state === 'online';
  } catch {
    return false;
  }
}
