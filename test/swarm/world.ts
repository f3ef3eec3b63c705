import type { CheckSpec } from '../../src/profiles/checks.js';
import { RegistrationError } from '../../src/registration/registration-error.js';
import type { RpcFault } from '../../src/transport/memory-network.js';
import { MovingHost } from '../helpers/moving-host.js';
import { device, SimSite } from '../helpers/sim.js';
import { FreezeWatch, type FreezeView } from './freeze.js';
import { deviceSet } from './device-sets.js';
import { finalViolations, lapsedViolations, Truth, type Violation } from './invariants.js';
import { laggingComponents, stallRelease } from './lag.js';
import { healViolations } from './ghost-heal.js';
import { LivenessJudge } from './liveness.js';
import { SimMdnsBus, SimMdnsDiscovery } from './mdns-sim.js';
import type { AgentPlan, FaultEvent, Scenario } from './scenario.js';
import { StarveWatch, type StarveView } from './starve.js';
import { noticeExcess } from './storm.js';
import { Trace } from './trace.js';

/** How often, in simulated time, the all-along invariant is checked between scheduled events. */
const CHECK_EVERY_MS = 250;

export interface WorldResult {
  violations: Violation[];
  /** Simulated time agents ran, summed over agents, in hours. */
  agentHours: number;
  trace: string[];
  /** Agents that multicast lost notices in their last life: how many (herald_announcements_sent_total{type="notice"}). */
  noticesSent: Record<string, number>;
}

/**
 * One seed's whole site on the in-memory network: the real Agent and ClusterSync code, driven through
 * a scenario's fault schedule, with the invariants checked along the way and at the end.
 */
export class World {
  private readonly site: SimSite;
  private readonly bus: SimMdnsBus;
  private readonly truth = new Truth();
  private readonly trace: Trace;
  private readonly judge: LivenessJudge;
  private readonly plans = new Map<string, AgentPlan>();
  private readonly address = new Map<string, string>();
  private readonly running = new Set<string>();
  private readonly started = new Set<string>();
  private readonly goodbyeCuts = new Set<string>();
  /** Addresses that hear no multicast datagram now (deaf.ts). */
  private readonly deaf = new Set<string>();
  private readonly violations: Violation[] = [];
  private readonly starves: StarveWatch;
  private readonly freezes: FreezeWatch;
  /** The hosts of agents the schedule moves while running (moves.ts), in their current life. */
  private readonly hosts = new Map<string, MovingHost>();
  private readonly upSince = new Map<string, number>();
  /** Per agent, when what reaches it in a storm is read (null: never stormed). */
  private readonly stormReleases = new Map<string, ((t: number) => number) | null>();
  /** Per agent, the ids registered with a TTL in its current life. */
  private readonly leased = new Map<string, Set<string>>();
  /** Times at which an interval fault begins or ends. */
  private readonly boundaries: number[];
  /** What is still to happen, in time order: the schedule, and restarts that come back later. */
  private events: ({ at: number; join: string } | FaultEvent)[] = [];
  private agentMs = 0;
  private moves = 0;
  private now = 0;

  constructor(
    private readonly scenario: Scenario,
    traced: boolean,
  ) {
    this.site = new SimSite(scenario.seed, { rpcLatencyMs: 1 }, scenario.heartbeatMs, undefined, {
      settleTurns: 1,
      nodeTimers: true,
      logLevel: 'silent',
    });
    this.trace = new Trace(this.site.clock, traced);
    this.bus = new SimMdnsBus(
      { clock: this.site.clock, random: this.site.random, network: this.site.network },
      (from, to) => this.goodbyeCuts.has(`${from}>${to}`),
    );
    this.judge = new LivenessJudge(scenario);
    this.starves = new StarveWatch(
      scenario.faults,
      scenario.agents.map((a) => a.name),
    );
    this.freezes = new FreezeWatch(
      scenario.faults,
      scenario.agents.map((a) => a.name),
    );
    this.boundaries = scenario.faults.flatMap((f) => ('until' in f ? [f.at, f.until] : []));
    scenario.agents.forEach((plan, i) => {
      this.plans.set(plan.name, plan);
      this.address.set(plan.name, `10.0.${i >> 8}.${(i & 255) + 1}`);
    });
    if (traced) {
      this.site.network.onEvent = (e) => this.trace.network(e, (a) => this.nameAt(a));
      this.bus.onEvent = (line) => this.trace.line(line);
    }
    this.site.network.rpcFaults = (from, to) => this.rpcFault(from, to);
    this.site.network.dropAtSend = (from, to, kind) =>
      this.goodbyeCuts.has(`${from}>${to}`) ||
      this.starves.deaf(to, this.site.clock.monotonic()) ||
      (kind === 'multicast' && this.deaf.has(to));
  }

  async run(): Promise<WorldResult> {
    const { faults, faultMs, quietMs } = this.scenario;
    const noticesSent: Record<string, number> = {};
    const joins = this.scenario.agents.map((a) => ({ at: a.joinAt, join: a.name }));
    this.events = [...joins, ...faults].sort((a, b) => a.at - b.at);
    // A promise the agent code forgot to handle is a crash of the agent: count it against this seed.
    const escaped = (err: unknown) =>
      this.violations.push({
        kind: 'crash',
        at: this.now,
        detail: `unhandled: ${err instanceof Error ? err.stack : String(err)}`,
      });
    process.on('unhandledRejection', escaped);
    try {
      for (let e = this.events.shift(); e; e = this.events.shift()) {
        await this.advanceTo(e.at);
        if ('join' in e) await this.join(e.join);
        else await this.apply(e);
        this.reconfigure();
        this.checkAlong();
      }
      await this.advanceTo(faultMs);
      this.reconfigure(faultMs + 1);
      this.trace.line('faults stop; the site is left alone');
      await this.advanceTo(faultMs + quietMs);
      const running = [...this.running].map((name) => {
        const sim = this.site.agents.get(name)!;
        return { name, agent: sim.agent, incarnation: sim.incarnation };
      });
      const stopped = [...this.started].filter((n) => !this.running.has(n));
      this.violations.push(...finalViolations(running, stopped, this.truth, this.now));
      this.violations.push(...lapsedViolations(running, this.leased, this.now));
      this.countNotices(noticesSent);
    } catch (err) {
      this.violations.push({ kind: 'crash', at: this.now, detail: (err as Error).stack ?? String(err) });
    } finally {
      for (const name of this.running) this.agentMs += this.now - this.upSince.get(name)!;
      for (const name of [...this.running]) await this.site.agents.get(name)!.agent.stop({ goodbye: false });
      process.off('unhandledRejection', escaped);
    }
    for (const v of this.violations)
      this.trace.line(`VIOLATION ${v.kind} ${v.viewer ?? ''} ${v.origin ?? ''}: ${v.detail}`);
    const { violations, trace } = this;
    return { violations, agentHours: this.agentMs / 3_600_000, trace: trace.lines, noticesSent };
  }

  /**
   * The lost notices every agent multicast in its last life, against the bound a storm must stay under
   * (storm.ts): an overloaded site whose late probers accuse live peers sent tens of thousands.
   */
  private countNotices(noticesSent: Record<string, number>): void {
    for (const [name, sim] of this.site.agents) {
      const sent = sim.agent.metrics.announcementsSent.get({ type: 'notice' });
      if (sent > 0) noticesSent[name] = sent;
    }
    const excess = noticeExcess(this.scenario, noticesSent);
    if (this.scenario.faults.some((f) => f.kind === 'storm') && excess)
      this.violations.push({ kind: 'notice-storm', at: this.now, detail: `${excess}: ${JSON.stringify(noticesSent)}` });
  }

  private async advanceTo(t: number): Promise<void> {
    while (this.now < t) {
      const step = Math.min(CHECK_EVERY_MS, t - this.now);
      await this.site.clock.advance(step);
      const before = this.now;
      this.now += step;
      if (this.boundaries.some((b) => b > before && b <= this.now)) this.reconfigure();
      this.checkAlong();
      this.violations.push(...this.starves.due(this.now, this.starveView(), (line) => this.trace.line(line)));
      this.violations.push(...this.freezes.due(this.now, this.freezeView(), (line) => this.trace.line(line)));
    }
  }

  private checkAlong(): void {
    for (const name of this.running) {
      const found = this.truth.checkViewer(name, this.site.agents.get(name)!.agent, this.now);
      this.violations.push(...found);
      for (const v of found) this.trace.line(`VIOLATION ${v.kind} at ${name}: ${v.detail}`);
    }
  }

  private async apply(e: FaultEvent): Promise<void> {
    this.trace.fault(e);
    // A frozen process changes nothing: its API and profile watcher answer only once it resumes (freeze.ts).
    const acting = 'agent' in e ? e.agent : e.kind === 'starve' ? e.origin : undefined;
    if (acting !== undefined && ACTIONS.has(e.kind) && frozen(this.scenario.faults, acting, this.now))
      return this.trace.line(`[${acting}] frozen: ${e.kind} not made`);
    switch (e.kind) {
      case 'change':
        if (this.running.has(e.agent)) await this.change(e.agent, e.seed);
        return;
      case 'crash':
        return this.halt(e.agent, false);
      case 'stop':
        return this.leave(e.agent, e.goodbyeLostTo);
      case 'restart':
        if (e.goodbye) await this.leave(e.agent, e.goodbyeLostTo);
        else await this.halt(e.agent, false);
        if (e.move) this.address.set(e.agent, `10.1.${++this.moves >> 8}.${(this.moves & 255) + 1}`);
        if (e.downMs === 0) return this.join(e.agent);
        return this.later({ at: Math.min(this.scenario.faultMs, this.now + e.downMs), join: e.agent });
      case 'clock-step':
        this.site.clock.step(e.ms);
        return;
      case 'move':
        return this.move(e.agent);
      case 'starve':
        return this.starve(e);
      case 'heal-check':
        this.violations.push(...healViolations(e, this.scenario.faults, this.starveView(), (l) => this.trace.line(l)));
        return;
      case 'register':
      case 'renew':
      case 'withdraw':
      case 'health':
        if (this.running.has(e.agent)) this.registration(e);
        return;
      default:
        return; // interval faults: applied by reconfigure()
    }
  }

  /** The origin changes while the viewer hears nothing; then the viewer must catch up soon (starve.ts). */
  private async starve(e: Extract<FaultEvent, { kind: 'starve' }>): Promise<void> {
    if (!this.running.has(e.origin)) return;
    const origin = this.site.agents.get(e.origin)!;
    const viewer = this.running.has(e.viewer) ? this.site.agents.get(e.viewer)! : undefined;
    const held = viewer?.agent.directory.held(e.origin);
    const knows = held?.state === 'alive' && held.incarnation === origin.incarnation;
    const datagrams = [e.origin, e.viewer].every((n) => this.plans.get(n)!.mode !== 'mdns');
    const deafUntil = this.site.clock.monotonic() + e.deafMs;
    if (viewer) this.starves.deafen(this.address.get(e.viewer)!, deafUntil);
    await this.change(e.origin, e.seed);
    if (viewer && knows && datagrams)
      this.starves.expect(e, this.now + e.deafMs, origin.incarnation, origin.agent.local.currentVersion);
    else this.trace.line(`starve: no check (${viewer ? (knows ? 'mDNS only' : 'the origin unknown there') : 'down'})`);
  }

  private starveView(): StarveView {
    return {
      running: (n) => this.running.has(n),
      upSince: (n) => this.upSince.get(n) ?? Infinity,
      incarnation: (n) => this.site.agents.get(n)!.incarnation,
      held: (viewer, origin) => this.site.agents.get(viewer)!.agent.directory.held(origin),
    };
  }

  private freezeView(): FreezeView {
    const total = (c: { series(): [string, number][] }) => c.series().reduce((sum, [, v]) => sum + v, 0);
    return {
      ...this.starveView(),
      requests: (n) => {
        const m = this.site.agents.get(n)!.agent.metrics;
        return total(m.livenessProbes) + total(m.catchupRequests) + total(m.viewExchanges);
      },
      known: (n) => this.site.agents.get(n)!.agent.directory.agents().length - 1,
    };
  }

  /** The running agent moves to a new address in the same life; its old one is left vacant (moves.ts). */
  private async move(name: string): Promise<void> {
    const host = this.hosts.get(name);
    if (!this.running.has(name) || !host) return;
    const to = `10.1.${++this.moves >> 8}.${(this.moves & 255) + 1}`;
    this.trace.line(`[${name}] moves from ${host.address} to ${to}, same life`);
    await host.move(to);
    this.address.set(name, to);
    this.site.agents.get(name)!.address = to;
    this.judge.moved(name, this.now);
  }

  /** A clean stop whose goodbye (datagrams and mDNS) does not reach `lostTo`. */
  private async leave(name: string, lostTo: string[]): Promise<void> {
    if (!this.running.has(name)) return;
    for (const to of lostTo) this.goodbyeCuts.add(`${this.address.get(name)}>${this.address.get(to)}`);
    await this.halt(name, true);
  }

  private later(e: { at: number; join: string }): void {
    const i = this.events.findIndex((x) => x.at > e.at);
    this.events.splice(i < 0 ? this.events.length : i, 0, e);
  }

  private async join(name: string): Promise<void> {
    if (this.running.has(name)) return;
    const plan = this.plans.get(name)!;
    const address = this.address.get(name)!;
    for (const cut of [...this.goodbyeCuts]) if (cut.startsWith(`${address}>`)) this.goodbyeCuts.delete(cut);
    const mdns = plan.mode !== 'multicast' ? [new SimMdnsDiscovery(this.bus, address, true)] : [];
    const moves = this.scenario.faults.some((f) => f.kind === 'move' && f.agent === name);
    const host = moves ? new MovingHost(this.site.network, address) : undefined;
    if (host) this.hosts.set(name, host);
    const devices = deviceSet(name, plan.devices, this.started.has(name) ? this.now + 1 : 1);
    const sim = await this.site.start(name, devices, {
      address,
      datagrams: plan.mode !== 'mdns',
      extensions: mdns,
      components: { ...host?.components(), ...this.lagging(name, address, plan.mode !== 'mdns', host) },
      init: { heartbeatBudget: this.scenario.heartbeatBudget },
    });
    this.running.add(name);
    this.started.add(name);
    this.upSince.set(name, this.now);
    this.truth.forgetViewer(name);
    this.truth.record(name, sim.incarnation, sim.agent.local.currentVersion, sim.agent);
    this.leased.set(name, new Set());
    // Registrations lapse and ttl checks turn critical on timers: every version the origin makes is kept.
    sim.agent.local.onChange((delta) => {
      this.truth.record(name, sim.incarnation, sim.agent.local.currentVersion, sim.agent);
      const removed = delta.removed.length > 0 ? `, without ${delta.removed.join(' ')}` : '';
      this.trace.line(`[${name}] now at version ${sim.agent.local.currentVersion}${removed}`);
    });
    this.judge.started(name, this.now);
    sim.agent.directory.subscribe((ev) => {
      if (ev.type === 'agent-lost' || ev.type === 'agent-left' || ev.type === 'agent-joined')
        this.trace.line(`[${name}] ${ev.agent} ${ev.type.slice(6)} (${ev.info.incarnation}/${ev.info.version})`);
      // A life that ended is lost rightly, however late (a viewer frozen past the restart; seed 607 --host-faults).
      if (ev.type === 'agent-lost' && this.running.has(ev.agent) && !this.ended(ev.agent, ev.info.incarnation)) {
        const v = this.judge.wrongLoss(name, ev.agent, this.now, plan.mode);
        if (v) this.violations.push(v);
      }
    });
    this.trace.line(`[${name}] started at ${address}, incarnation ${sim.incarnation}, ${devices.length} devices`);
  }

  /** Whether `incarnation` (0: not known yet) is a life of `name` before its running one. */
  private ended(name: string, incarnation: number): boolean {
    return incarnation > 0 && incarnation < this.site.agents.get(name)!.incarnation;
  }

  /** The simulated parts a lag fault delays, for an agent that has one in the schedule. */
  private lagging(name: string, address: string, datagrams: boolean, host?: MovingHost) {
    const release = stallRelease(this.scenario.faults, name);
    if (!release) return undefined;
    const net = this.site.network;
    const own = host?.components();
    return laggingComponents(
      this.site.clock,
      release,
      own?.peers ?? net.peerClient(address),
      datagrams ? (own?.transport ?? net.datagramTransport(address)) : undefined,
    );
  }

  private async change(name: string, seed: number): Promise<void> {
    const sim = this.site.agents.get(name)!;
    await this.site.change(name, deviceSet(name, this.plans.get(name)!.devices, seed));
    this.truth.record(name, sim.incarnation, sim.agent.local.currentVersion, sim.agent);
  }

  /** A registration request through the agent's own API; one it refuses (its life ended, lapsed) is traced. */
  private registration(e: RegistrationEvent): void {
    const devices = this.site.agents.get(e.agent)!.agent.devices;
    try {
      if (e.kind === 'register') {
        const checks = e.checkTtlMs === undefined ? undefined : [ttlCheck(e.checkTtlMs)];
        devices.register([{ device: device(e.id, { checks }), document: {}, ttlMs: e.ttlMs, persist: false }]);
        if (e.ttlMs !== undefined) this.leased.get(e.agent)!.add(e.id);
      } else if (e.kind === 'renew') devices.renew(e.id);
      else if (e.kind === 'withdraw') devices.withdraw([e.id]);
      else if ('status' in e) devices.report(e.id, undefined, e.status, 'reported by the swarm');
    } catch (err) {
      if (!(err instanceof RegistrationError)) throw err;
      this.trace.line(`[${e.agent}] ${e.kind} ${e.id} refused: ${err.code}`);
    }
  }

  private async halt(name: string, goodbye: boolean): Promise<void> {
    if (!this.running.has(name)) return;
    this.running.delete(name);
    this.agentMs += this.now - this.upSince.get(name)!;
    this.judge.stopped(name);
    const sim = this.site.agents.get(name)!;
    if (goodbye) await sim.agent.stop();
    else await this.site.crash(name);
    this.trace.line(`[${name}] ${goodbye ? 'stopped' : 'crashed'}`);
  }

  /** Puts the network in the state the interval faults active now (or at `at`) describe. */
  private reconfigure(at = this.now): void {
    const net = this.site.network;
    const active = this.scenario.faults.filter((f) => 'until' in f && f.at <= at && at < f.until);
    net.heal();
    net.links.clear();
    this.deaf.clear();
    this.bus.loss.clear();
    for (const f of active) {
      if (f.kind === 'link') {
        const to = this.address.get(f.to)!;
        const was = net.links.get(to);
        net.links.set(to, {
          loss: Math.max(was?.loss ?? 0, f.loss),
          duplicate: Math.max(was?.duplicate ?? 0, f.duplicate),
          reorderWindowMs: Math.max(was?.reorderWindowMs ?? 0, f.reorderMs),
        });
      } else if (f.kind === 'deaf') this.deaf.add(this.address.get(f.to)!);
      else if (f.kind === 'mdns-loss') {
        const to = this.address.get(f.to)!;
        this.bus.loss.set(to, Math.max(this.bus.loss.get(to) ?? 0, f.loss));
      } else if (f.kind === 'cut') net.cut(this.address.get(f.from)!, this.address.get(f.to)!, true);
      else if (f.kind === 'partition') {
        const side = new Set(f.side);
        for (const a of this.plans.keys())
          for (const b of this.plans.keys())
            if (side.has(a) !== side.has(b)) net.cut(this.address.get(a)!, this.address.get(b)!, true);
      }
    }
  }

  private rpcFault(from: string, to: string): RpcFault | undefined {
    const target = this.nameAt(to);
    const now = this.site.clock.monotonic();
    for (const f of this.scenario.faults) {
      if (f.kind !== 'rpc' || f.to !== target || now < f.at || now >= f.until) continue;
      if (this.site.random() >= f.share) continue;
      this.trace.line(`request ${this.nameAt(from)} -> ${target}: injected ${f.fault}`);
      return f.fault === 'late' ? { kind: 'late', delayMs: f.delayMs } : { kind: f.fault };
    }
    return this.stormAnswer(target);
  }

  /**
   * A stormed (or frozen) agent reads a request only at its loop's stall's end: then it acts on it and answers.
   * Acted on at once (only its answer held back), a verdict reached a stalled monitor before the subject's
   * datagram held in the same stall, and its notice went out on it (swarm seed 24001665).
   */
  private stormAnswer(target: string): RpcFault | undefined {
    let release = this.stormReleases.get(target);
    if (release === undefined) {
      release = stallRelease(
        this.scenario.faults.filter((f) => f.kind === 'storm' || f.kind === 'freeze'),
        target,
      );
      this.stormReleases.set(target, release ?? null);
    }
    return release ? { kind: 'unread', readAt: release } : undefined;
  }

  private nameAt(address: string): string {
    for (const [name, a] of this.address) if (a === address) return name;
    return address;
  }
}

/** What an agent's own process does (a change, a registration): nothing while it is frozen. */
const ACTIONS = new Set(['change', 'starve', 'register', 'renew', 'withdraw', 'health']);

function frozen(faults: readonly FaultEvent[], name: string, at: number): boolean {
  return faults.some((f) => f.kind === 'freeze' && f.to === name && f.at <= at && at < f.until);
}

type RegistrationEvent = Extract<FaultEvent, { kind: 'register' | 'renew' | 'withdraw' | 'health' }>;

function ttlCheck(ttlMs: number): CheckSpec {
  return {
    id: 'beat',
    type: 'ttl',
    ttlMs,
    intervalMs: ttlMs,
    timeoutMs: 1000,
    successBeforePassing: 1,
    failuresBeforeCritical: 1,
  };
}
