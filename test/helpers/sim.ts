import { Agent, type AgentComponents, type AgentExtension } from '../../src/agent/agent.js';
import type { AgentInit } from '../../src/agent/agent-components.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import type { KeyRing } from '../../src/security/cluster-key.js';
import type { Device } from '../../src/profiles/model.js';
import { onLinkOf } from '../../src/transport/on-link.js';
import { MemoryProfileSource } from '../../src/profiles/source.js';
import { MemoryNetwork, type MemoryNetworkInit } from '../../src/transport/memory-network.js';
import type { DatagramTransport, PeerClient, PeerService } from '../../src/transport/transport.js';
import { FakeClock } from '../../src/util/clock.js';
import { memoryLogger } from '../../src/util/logger.js';
import { seededRandom, type Random } from '../../src/util/random.js';

export interface SimAgent {
  name: string;
  address: string;
  agent: Agent;
  source: MemoryProfileSource;
  incarnation: number;
  logs: Record<string, unknown>[];
}

/**
 * A site of agents on the in-memory network and a fake clock: the real Agent and ClusterSync code,
 * with every datagram and peer request under the test's control. Deterministic for a given seed.
 */
export interface SimSiteOptions {
  /** Event-loop turns after each timer (see FakeClock); 1 is enough when nothing uses real sockets. */
  settleTurns?: number;
  /** Node's timer semantics: delays under 1 ms become 1 ms (see FakeClock). */
  nodeTimers?: boolean;
  /** Agents' log level; 'silent' for speed when nobody reads the logs. */
  logLevel?: 'silent' | 'info' | 'debug';
  /** Wraps what each agent is given (a cost meter counts through these); identity when absent. */
  wrap?: SimWrap;
}

export interface SimWrap {
  transport(address: string, inner: DatagramTransport): DatagramTransport;
  peers(address: string, inner: PeerClient): PeerClient;
  service(address: string, inner: PeerService): PeerService;
}

export interface SimStartOptions {
  api?: boolean;
  index?: number;
  keys?: KeyRing;
  /** Start at this address (a restart that moved); otherwise the agent's last address. */
  address?: string;
  /** Herald datagrams (modes multicast and both); false runs on the extensions alone (mode mdns). */
  datagrams?: boolean;
  extensions?: AgentExtension[];
  /** Components beyond the simulated ones (a registration store, health probes). */
  components?: Partial<AgentComponents>;
  /** See AgentInit.heartbeatScaling (false: the fixed-period baseline). */
  heartbeatScaling?: boolean;
  /** Agent settings beyond the simulated ones (the protocol's options). */
  init?: Partial<AgentInit>;
}

const SIM_LINK = onLinkOf('10.0.0.1', '255.0.0.0');

export class SimSite {
  readonly clock: FakeClock;
  readonly random: Random;
  readonly network: MemoryNetwork;
  readonly agents = new Map<string, SimAgent>();
  readonly envelopes = new Map<string, HmacEnvelope>();
  private incarnations = 1000;

  constructor(
    seed: number,
    init: MemoryNetworkInit = {},
    private readonly heartbeatMs = 1000,
    /** A cluster key for every agent started without one of its own. */
    readonly keys?: KeyRing,
    private readonly options: SimSiteOptions = {},
  ) {
    this.clock = new FakeClock(0, undefined, options.settleTurns ?? 3, options.nodeTimers ? 1 : 0);
    this.random = seededRandom(seed);
    this.network = new MemoryNetwork({ clock: this.clock, random: this.random }, init);
  }

  /** Starts (or restarts, with a new incarnation) an agent with these devices. */
  async start(name: string, devices: Device[], opts: SimStartOptions = {}): Promise<SimAgent> {
    const index = opts.index ?? this.agents.size + 1;
    const address =
      opts.address ??
      (opts.index !== undefined ? `10.0.0.${opts.index}` : (this.agents.get(name)?.address ?? `10.0.0.${index}`));
    this.network.setDown(address, false);
    const source = new MemoryProfileSource(devices);
    const { logger, lines } = memoryLogger(this.options.logLevel ?? 'info');
    const incarnation = ++this.incarnations;
    const keys = opts.keys ?? this.keys;
    const envelope = keys && new HmacEnvelope(keys, this.clock);
    if (envelope) this.envelopes.set(name, envelope);
    const wrap = this.options.wrap;
    const transport = opts.datagrams === false ? undefined : this.network.datagramTransport(address);
    const peers = this.network.peerClient(address);
    const agent = new Agent(
      {
        clock: this.clock,
        random: this.random,
        logger,
        profiles: source,
        transport: transport && wrap ? wrap.transport(address, transport) : transport,
        extensions: opts.extensions,
        envelope,
        // Simulated hosts are on 10/8, one link; tests place off-link addresses elsewhere (192.0.2/24).
        onLink: SIM_LINK,
        peers: wrap ? wrap.peers(address, peers) : peers,
        peerListener: (service) => {
          let stop = () => {};
          return {
            start: () => {
              stop = this.network.servePeer({ address, port: 7771 }, wrap ? wrap.service(address, service) : service);
              return Promise.resolve(7771);
            },
            stop: () => Promise.resolve(stop()),
          };
        },
        ...opts.components,
      },
      {
        name,
        site: 'sim',
        incarnation,
        address,
        host: name,
        heartbeatMs: this.heartbeatMs,
        heartbeatScaling: opts.heartbeatScaling,
        api: opts.api ? { host: '127.0.0.1', port: 0 } : null,
        ...opts.init,
      },
    );
    await agent.start();
    const sim = { name, address, agent, source, incarnation, logs: lines };
    this.agents.set(name, sim);
    return sim;
  }

  /** Kills an agent without a goodbye: its host stops sending, receiving and answering. */
  async crash(name: string): Promise<void> {
    const sim = this.agents.get(name)!;
    this.network.setDown(sim.address, true);
    await sim.agent.stop({ goodbye: false });
  }

  async stop(name: string): Promise<void> {
    await this.agents.get(name)!.agent.stop();
  }

  async change(name: string, devices: Device[]): Promise<void> {
    const sim = this.agents.get(name)!;
    sim.source.set(devices);
    await sim.agent.reload('test');
  }

  running(): SimAgent[] {
    return [...this.agents.values()].filter((a) => a.agent.readiness().ready);
  }

  /** Every running agent's directory digest: one distinct value means converged. */
  digests(): Map<string, string> {
    return new Map(this.running().map((a) => [a.name, a.agent.directory.digest()]));
  }

  converged(): boolean {
    return new Set(this.digests().values()).size === 1;
  }

  async runUntilConverged(maxMs: number, stepMs = 50): Promise<number> {
    for (let t = 0; t <= maxMs; t += stepMs) {
      if (this.converged() && this.allKnowEachOther()) return t;
      await this.clock.advance(stepMs);
    }
    return -1;
  }

  private allKnowEachOther(): boolean {
    const names = this.running().map((a) => a.name);
    return this.running().every((a) => names.every((n) => a.agent.directory.held(n)?.state === 'alive'));
  }

  async stopAll(): Promise<void> {
    for (const a of this.running()) await a.agent.stop();
  }
}

export function device(id: string, extra: Partial<Device> = {}): Device {
  return {
    id,
    name: `Device ${id}`,
    tags: [],
    names: [],
    capabilities: [{ id: 'value', kind: 'property', type: 'temperature', unit: '°C' }],
    ...extra,
  };
}

/** Devices whose text does not compress: to make a delta that cannot fit one datagram. */
export function noisyDevices(random: Random, count: number): Device[] {
  const noise = () => Array.from({ length: 40 }, () => Math.floor(random() * 36).toString(36)).join('');
  return Array.from({ length: count }, (_, i) => device(`dev-${i}`, { name: noise(), location: noise() }));
}

/** A random device set of an agent: ids from a small pool so that changes add, update and remove. */
export function randomDevices(random: Random, agent: string, max = 6): Device[] {
  const out: Device[] = [];
  for (let i = 0; i < max; i++) {
    if (random() < 0.5) out.push(device(`${agent}-d${i}`, { location: `room ${Math.floor(random() * 4)}` }));
  }
  return out;
}
