import type { AgentComponents } from '../../src/agent/agent.js';
import type { MemoryNetwork } from '../../src/transport/memory-network.js';
import type { DatagramHandler, DatagramTransport, PeerClient, PeerService } from '../../src/transport/transport.js';
import { device, type SimSite } from './sim.js';

/** The port every simulated agent's peer endpoint listens on (SimSite). */
const PEER_PORT = 7771;

/**
 * A simulated host whose address changes while its agent runs: the same process and life, its sockets
 * bound again at the new address (a DHCP lease renewed to another address with the agent pinned to its
 * socket, a roam to another access point of the subnet that hands out a new lease, a VM migrated). The old
 * address is left vacant: a request there times out (no host answers ARP), a datagram there is lost.
 * The agent is not told: its own record and its `address` setting keep the old address, as a process
 * that does not follow its interface would.
 */
export class MovingHost {
  private transport: DatagramTransport;
  private handler: DatagramHandler | undefined;
  private service: PeerService | undefined;
  private unserve: () => void = () => {};

  constructor(
    private readonly network: MemoryNetwork,
    public address: string,
  ) {
    this.transport = network.datagramTransport(address);
  }

  /** What SimSite.start takes as `components`: datagrams, requests and the peer endpoint, all at `address`. */
  components(): Partial<AgentComponents> {
    const transport: DatagramTransport = {
      start: (onMessage) => {
        this.handler = onMessage;
        return this.transport.start(onMessage);
      },
      send: (data) => this.transport.send(data),
      sendTo: (data, to) => this.transport.sendTo(data, to),
      stop: () => this.transport.stop(),
    };
    const peers: PeerClient = {
      changes: (peer, req, timeoutMs) => this.network.peerClient(this.address).changes(peer, req, timeoutMs),
      hello: (peer, timeoutMs, withPeers, asker) =>
        this.network.peerClient(this.address).hello(peer, timeoutMs, withPeers, asker),
      close: () => Promise.resolve(),
    };
    const peerListener = (service: PeerService) => ({
      start: () => {
        this.service = service;
        this.unserve = this.network.servePeer({ address: this.address, port: PEER_PORT }, service);
        return Promise.resolve(PEER_PORT);
      },
      stop: () => Promise.resolve(this.unserve()),
    });
    return { transport, peers, peerListener };
  }

  /** Moves the running host to `to`: its sockets are bound there, and its old address is left vacant. */
  async move(to: string): Promise<void> {
    const from = this.address;
    await this.transport.stop();
    this.unserve();
    this.network.vacant.add(from);
    this.network.vacant.delete(to);
    this.address = to;
    this.transport = this.network.datagramTransport(to);
    if (this.handler) await this.transport.start(this.handler);
    if (this.service) this.unserve = this.network.servePeer({ address: to, port: PEER_PORT }, this.service);
  }
}

/** Agents agent-0… (`count`, one device each) started 10 ms apart, `mover` on `host`, then settled 20 s. */
export async function startWithMover(
  site: SimSite,
  host: MovingHost,
  opts: { count: number; mover: string; heartbeatBudget: number },
): Promise<string[]> {
  const names = Array.from({ length: opts.count }, (_, i) => `agent-${i}`);
  for (const [i, name] of names.entries()) {
    const components = name === opts.mover ? host.components() : undefined;
    const init = { heartbeatBudget: opts.heartbeatBudget };
    await site.start(name, [device(`d-${i}`)], { index: i + 1, components, init });
    await site.clock.advance(10);
  }
  await site.clock.advance(20_000);
  return names;
}

/** The agents that lose `name` from now on, as they do (it never stops: each is a false loss). */
export function losersOf(site: SimSite, name: string): string[] {
  const lost: string[] = [];
  for (const sim of site.agents.values())
    sim.agent.directory.subscribe((ev) => {
      if (ev.type === 'agent-lost' && ev.agent === name) lost.push(sim.name);
    });
  return lost;
}
