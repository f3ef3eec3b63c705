import type { AgentComponents } from '../../src/agent/agent.js';
import type { AgentInit } from '../../src/agent/agent-components.js';
import type { KeyRing } from '../../src/security/cluster-key.js';
import type { Device } from '../../src/profiles/model.js';
import { device, SimSite, type SimAgent } from '../helpers/sim.js';
import { CostMeter } from './cost.js';

/** Which protocol a run measures: the code's default, or today's fixed one-second heartbeat. */
export type ScaleProtocol = 'default' | 'baseline';

/** Ten devices of an agent; `round` changes every location, so each change is an update of all ten. */
export function scaleDevices(name: string, count: number, round: number): Device[] {
  return Array.from({ length: count }, (_, i) => device(`${name}-d${i}`, { location: `room ${round}` }));
}

/** Settings of the protocol under test: `heartbeatScaling: false` is today's protocol (issue 18's contract). */
function protocolInit(protocol: ScaleProtocol, init: Partial<AgentInit>): Partial<AgentInit> {
  return protocol === 'baseline' ? { heartbeatScaling: false, ...init } : init;
}

/**
 * A simulated site with its cost meter and watches: when each agent first held a given version of an
 * origin, or first saw an origin lost. Watches are fed by directory events, so times are exact, not
 * rounded to a polling step.
 */
export class ScaleSite {
  readonly sim: SimSite;
  readonly meter = new CostMeter((body) => this.sim.network.answerJson(body));
  readonly names: string[] = [];
  /** Running agents (not crashed, not vanished). */
  readonly live = new Set<string>();
  private readonly watches = new Map<string, Watch>();
  /** Losses of a live agent seen by a live agent since the counter was last read. */
  falseLosses = 0;
  private rounds = new Map<string, number>();

  constructor(
    seed: number,
    readonly protocol: ScaleProtocol,
    readonly devicesPerAgent: number,
    /** Settings of every agent beyond the protocol's (a test's forced heartbeat budget). */
    private readonly init: Partial<AgentInit> = {},
    /** A cluster key for every agent: a keyed site (its monitors hear beats). */
    keys?: KeyRing,
  ) {
    const wrap = {
      transport: (...a: Parameters<CostMeter['transport']>) => this.meter.transport(...a),
      peers: (...a: Parameters<CostMeter['peers']>) => this.meter.peers(...a),
      service: (...a: Parameters<CostMeter['service']>) => this.meter.service(...a),
    };
    this.sim = new SimSite(seed, { rpcLatencyMs: 1, shareAnswers: true }, undefined, keys, {
      settleTurns: 1,
      nodeTimers: true,
      logLevel: 'silent',
      wrap,
    });
  }

  now(): number {
    return this.sim.clock.monotonic();
  }

  agent(name: string): SimAgent {
    return this.sim.agents.get(name)!;
  }

  addressOf(name: string): string {
    return this.agent(name).address;
  }

  /** `components`: simulated parts of its own (a late loop, lag.ts), given the agent's address. */
  async start(
    name: string,
    index: number,
    devices = scaleDevices(name, this.devicesPerAgent, 0),
    components?: (address: string) => Partial<AgentComponents>,
  ): Promise<void> {
    const address = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
    const sim = await this.sim.start(name, devices, {
      address,
      init: protocolInit(this.protocol, this.init),
      components: components?.(address),
    });
    this.names.push(name);
    this.live.add(name);
    sim.agent.directory.subscribe((e) => {
      if (e.type === 'agent-lost' && this.live.has(e.agent) && this.live.has(name)) this.falseLosses += 1;
      this.watches.get(e.agent)?.seen(name, e.type, this.now());
    });
  }

  /** A new device set at `name`: resolves with the version every other agent must reach. */
  async change(name: string): Promise<number> {
    const round = (this.rounds.get(name) ?? 0) + 1;
    this.rounds.set(name, round);
    await this.sim.change(name, scaleDevices(name, this.devicesPerAgent, round));
    return this.agent(name).agent.local.currentVersion;
  }

  /** Starts timing, at every other live agent, when it first holds `origin` at `version` or later. */
  watchVersion(origin: string, version: number): Watch {
    const watch = new Watch(this.now(), this.others(origin), (viewer) => {
      const held = this.agent(viewer).agent.directory.held(origin);
      return held !== undefined && held.state === 'alive' && held.version >= version;
    });
    this.watches.set(origin, watch);
    return watch;
  }

  /** Starts timing, at every other live agent, when it first sees `origin` lost (or left). */
  watchLoss(origin: string): Watch {
    const watch = new Watch(this.now(), this.others(origin), (viewer) => {
      const state = this.agent(viewer).agent.directory.held(origin)?.state;
      return state === 'lost' || state === 'left';
    });
    this.watches.set(origin, watch);
    return watch;
  }

  /** Advances in `stepMs` steps until the watch is done or `limitMs` passed since it began. */
  async until(watch: Watch, limitMs: number, stepMs: number): Promise<void> {
    watch.sweep(this.now());
    while (!watch.done() && this.now() - watch.since < limitMs) {
      await this.sim.clock.advance(stepMs);
      watch.sweep(this.now());
    }
  }

  /** `count` changes, each of a random live agent and watched until every other holds it or `limitMs` passed. */
  async changes(count: number, limitMs: number): Promise<{ times: number[]; undelivered: number }> {
    const times: number[] = [];
    let undelivered = 0;
    for (let k = 0; k < count; k++) {
      const live = [...this.live];
      const origin = live[Math.floor(this.sim.random() * live.length)];
      const watch = this.watchVersion(origin, await this.change(origin));
      await this.until(watch, limitMs, 5);
      times.push(...watch.times.values());
      undelivered += watch.missing;
      await this.sim.clock.advance(500);
    }
    return { times, undelivered };
  }

  /** Whether `viewer` holds every live origin alive at its current (incarnation, version). */
  holdsAll(viewer: string, from = 0): number {
    const dir = this.agent(viewer).agent.directory;
    let i = from;
    for (; i < this.names.length; i++) {
      const origin = this.names[i];
      if (origin === viewer || !this.live.has(origin)) continue;
      const own = this.agent(origin);
      const held = dir.held(origin);
      if (
        !held ||
        held.state !== 'alive' ||
        held.incarnation !== own.incarnation ||
        held.version !== own.agent.local.currentVersion
      )
        return i;
    }
    return i;
  }

  /** Agents agent-0 to agent-(count - 1), 10 ms apart, then 10 s to settle: a running site for a newcomer. */
  async startSettled(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await this.start(`agent-${i}`, i + 1);
      await this.sim.clock.advance(10);
    }
    await this.sim.clock.advance(10_000);
  }

  /**
   * `name`'s endpoint behind a short accept queue: `queue` catch-up connections per `acceptMs` are taken, the
   * rest dropped (what a newcomer's listen backlog does when the whole site asks it at once).
   */
  acceptQueue(name: string, queue: number, acceptMs: number): { asked: number; dropped: number } {
    const counts = { asked: 0, dropped: 0 };
    let bucket = { at: -Infinity, taken: 0 };
    this.sim.network.rpcFaults = (_from, to, route) => {
      if (route !== 'changes' || to !== this.addressOf(name)) return undefined;
      counts.asked += 1;
      const now = this.now();
      if (now - bucket.at >= acceptMs) bucket = { at: now, taken: 0 };
      if (++bucket.taken <= queue) return undefined;
      counts.dropped += 1;
      return { kind: 'fail' };
    };
    return counts;
  }

  /** Whether `viewer` has verified `origin` (answered at its endpoint): only then are its announcements applied. */
  verified(viewer: string, origin: string): boolean {
    type Peers = { get(n: string): { verified: boolean } | undefined };
    const sync = (this.agent(viewer).agent as unknown as { sync: { peers: Peers } }).sync;
    return sync.peers.get(origin)?.verified ?? false;
  }

  others(origin: string): string[] {
    return [...this.live].filter((n) => n !== origin);
  }

  async stopAll(): Promise<void> {
    for (const name of this.live) await this.agent(name).agent.stop({ goodbye: false });
    this.live.clear();
  }
}

/** Per viewer, the time from `since` until a condition first held there. */
export class Watch {
  readonly times = new Map<string, number>();
  private readonly pending: Set<string>;

  constructor(
    readonly since: number,
    viewers: string[],
    private readonly holds: (viewer: string) => boolean,
  ) {
    this.pending = new Set(viewers);
  }

  seen(viewer: string, _type: string, now: number): void {
    if (this.pending.has(viewer) && this.holds(viewer)) {
      this.pending.delete(viewer);
      this.times.set(viewer, now - this.since);
    }
  }

  /** Catches what no event announced (a version reached with no device change): checked at step ends. */
  sweep(now: number): void {
    for (const viewer of this.pending) this.seen(viewer, 'sweep', now);
  }

  done(): boolean {
    return this.pending.size === 0;
  }

  get missing(): number {
    return this.pending.size;
  }
}
