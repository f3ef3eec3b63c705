import { Agent, type AgentContext, type AgentExtension } from '../../src/agent/agent.js';
import type { Device } from '../../src/profiles/model.js';
import { MemoryProfileSource } from '../../src/profiles/source.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import type { KeyRing } from '../../src/security/cluster-key.js';
import { MemoryNetwork } from '../../src/transport/memory-network.js';
import { FakeClock } from '../../src/util/clock.js';
import { memoryLogger } from '../../src/util/logger.js';
import { seededRandom } from '../../src/util/random.js';
import { device } from './sim.js';

interface MdnsAgent {
  agent: Agent;
  ctx?: AgentContext;
  address: string;
  source: MemoryProfileSource;
}

/** An mDNS-only site: no Herald datagrams, adverts handed to ClusterSync as mdns-discovery does. */
export class MdnsSite {
  readonly clock = new FakeClock();
  readonly random = seededRandom(103);
  readonly network: MemoryNetwork;
  readonly agents = new Map<string, MdnsAgent>();
  private incarnations = 500;

  constructor(
    rpcLatencyMs: number,
    /** With a key, mDNS is only a hint: adverts lead to probes (the memory network signs nothing). */
    private readonly keys?: KeyRing,
  ) {
    this.network = new MemoryNetwork({ clock: this.clock, random: this.random }, { rpcLatencyMs });
  }

  /** Agents a (10.0.1.1) and b (10.0.1.2), each with one device, that heard each other's advert. */
  static async pair(rpcLatencyMs: number, keys?: KeyRing): Promise<MdnsSite> {
    const site = new MdnsSite(rpcLatencyMs, keys);
    await site.start('a', 1, [device('a-1')]);
    await site.start('b', 2, [device('b-1')]);
    site.advertise('a');
    site.advertise('b');
    return site;
  }

  async start(name: string, index: number, devices: Device[]): Promise<void> {
    const address = `10.0.1.${index}`;
    const source = new MemoryProfileSource(devices);
    const entry: MdnsAgent = { agent: undefined!, address, source };
    const capture: AgentExtension = {
      name: 'fake-mdns',
      start: (ctx) => {
        entry.ctx = ctx;
        return Promise.resolve();
      },
      stop: () => Promise.resolve(),
    };
    entry.agent = new Agent(
      {
        clock: this.clock,
        random: this.random,
        logger: memoryLogger('info').logger,
        profiles: source,
        extensions: [capture],
        envelope: this.keys && new HmacEnvelope(this.keys, this.clock),
        peers: this.network.peerClient(address),
        peerListener: (service) => {
          let stop = () => {};
          return {
            start: () => {
              stop = this.network.servePeer({ address, port: 7771 }, service);
              return Promise.resolve(7771);
            },
            stop: () => Promise.resolve(stop()),
          };
        },
      },
      { name, site: 'sim', incarnation: ++this.incarnations, address, host: name, heartbeatMs: 1000, api: null },
    );
    await entry.agent.start();
    this.agents.set(name, entry);
  }

  /** One mDNS advert of `name` (`refresh`: unchanged, which bonjour does not report), heard by every other agent. */
  advertise(name: string, how: 'advert' | 'refresh' = 'advert'): void {
    const a = this.agents.get(name)!;
    const advert = {
      name,
      site: 'sim',
      incarnation: a.agent.directory.held(name)!.incarnation,
      version: a.agent.local.currentVersion,
      address: a.address,
      peerPort: 7771,
    };
    for (const [other, o] of this.agents) {
      if (other === name) continue;
      if (how === 'refresh') o.ctx!.sync.observeRefresh(advert);
      else o.ctx!.sync.observe(advert, 'mdns');
    }
  }

  async change(name: string, devices: Device[]): Promise<void> {
    const a = this.agents.get(name)!;
    a.source.set(devices);
    await a.agent.reload('test');
  }

  async stopAll(): Promise<void> {
    for (const a of this.agents.values()) await a.agent.stop();
  }

  state(viewer: string, of: string): string | undefined {
    return this.agents.get(viewer)!.agent.directory.held(of)?.state;
  }
}
