import { fnv1a32, MessageType, type Message } from '../protocol/messages.js';
import type { DatagramKind, Endpoint } from '../transport/transport.js';
import type { Directory } from '../directory/directory.js';
import type { Peer, PeerTable } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * How many monitors each agent has: the agents that hear its unicast liveness heartbeat every period
 * and probe it when it falls silent (SWIM's probers, fixed rather than random: memberlist picks a random
 * member each round, which over time talks to every host and churns the neighbour table). Two, not
 * three: with 3, even skipping the round after a multicast, a keyed agent of a 50-agent site sent
 * 182 B/s on the wire (the goal is 150; 135 with 2). The price is redundancy: each monitor multicasts a
 * notice twice, so a host misses all 4 copies at 30 % loss with 0.3⁴ = 0.8 % (0.07 % with 6) and learns
 * of that crash from the backstop instead; and a crash is missed by the monitors only if both fail too.
 */
export const MONITORS = 2;

/**
 * The longest silence, in liveness periods, a monitor hears from a live subject: a subject skips its
 * unicast round in a period after it multicast (the monitors heard that), so up to just under two.
 */
export const MONITOR_GAP_PERIODS = 2;

/**
 * The alive agents ordered on a ring by the hash of their names. An agent's monitors are the MONITORS
 * agents after it; its subjects the ones before it. Each agent thus sends unicast to 2 and hears from
 * 2: 4 unicast peers at most, whatever the site's size, so its neighbour (ARP) table holds a handful of
 * entries instead of churning through 1,000. Agents that see slightly different members disagree only
 * about their neighbours on the ring, briefly; a monitor that expects a heartbeat it does not get
 * probes over TCP, which answers, so a disagreement costs a probe, never a false loss.
 */
export class Ring {
  private readonly order: string[];
  private readonly index = new Map<string, number>();

  constructor(names: Iterable<string>) {
    const hashed = [...new Set(names)].map((name) => ({ name, hash: fnv1a32(name) }));
    hashed.sort((a, b) => a.hash - b.hash || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.order = hashed.map((h) => h.name);
    this.order.forEach((name, i) => this.index.set(name, i));
  }

  get size(): number {
    return this.order.length;
  }

  /** The agents that watch `name`: the ones after it on the ring (fewer on a small ring). */
  monitorsOf(name: string, k = MONITORS): string[] {
    const i = this.index.get(name);
    if (i === undefined) return [];
    const n = this.order.length;
    const out: string[] = [];
    for (let step = 1; step <= Math.min(k, n - 1); step++) out.push(this.order[(i + step) % n]);
    return out;
  }

  /** The agents `name` watches: the ones before it on the ring. */
  subjectsOf(name: string, k = MONITORS): string[] {
    const j = this.index.get(name);
    if (j === undefined) return [];
    const n = this.order.length;
    const out: string[] = [];
    for (let step = 1; step <= Math.min(k, n - 1); step++) out.push(this.order[(j - step + n) % n]);
    return out;
  }

  /** Whether `monitor` is one of the agents that watch `subject`. */
  watches(monitor: string, subject: string, k = MONITORS): boolean {
    const i = this.index.get(subject);
    const j = this.index.get(monitor);
    if (i === undefined || j === undefined || i === j) return false;
    const n = this.order.length;
    return (j - i + n) % n <= Math.min(k, n - 1);
  }
}

/**
 * Whether a peer counts as a member of the site: for RTCP's `members` and on the ring. Only an agent held
 * alive that proved itself (a signed datagram, or an answer at its endpoint): on an open site anyone can
 * multicast heartbeats under made-up names, chosen so that their hashes fall right after a victim's. Had
 * they counted, they would stretch every interval, become the victim's monitors (its crash then noticed
 * only by the backstop), and draw every such agent's unicast heartbeats to the forger's source address.
 * It looks only at the peer table and the directory's states: Membership caches it on their epochs.
 */
export function isMember(s: { c: { directory: Directory } }, peer: Peer): boolean {
  return peer.verified && s.c.directory.held(peer.name)?.state === 'alive';
}

/**
 * Whether a datagram may move the mean heartbeat size that stretches every interval (RTCP's avg_rtcp_size):
 * a member's multicast heartbeat only. Counted before the envelope was opened, 40 large junk datagrams on a
 * keyed site made every agent's heartbeats ten times rarer; on an open site, made-up names could too.
 */
export function sizesInterval(
  s: SyncContext,
  keyed: boolean,
  msg: Message,
  from: Endpoint,
  kind: DatagramKind,
): boolean {
  if (kind !== 'multicast' || msg.type !== MessageType.heartbeat) return false;
  if (keyed || msg.name === s.cfg.name) return true;
  const peer = s.peers.get(msg.name);
  return peer !== undefined && peer.verified && peer.endpoint.address === from.address;
}

/** How far from this agent's own stretched interval a peer's is believed: every member's is about the same. */
export const INTERVAL_SPREAD = 4;

/**
 * A peer's multicast interval as this agent judges its silence: the longer of the one its last datagram
 * announced and this agent's own for the site now (RTCP times a member out by the receiver's interval, RFC
 * 3550 §6.3.5). A peer heard before the site grew announced a shorter one than its next wait (forward
 * reconsideration, §6.3.6, postpones it to the larger site's), and a newcomer's first datagrams none at all
 * (it counts itself unscaled until it has verified its peers): judged by those, non-monitors probed live
 * agents in a cold start (1,472 of 2,223 checks at 100 agents, cold12). One learnt second-hand and not heard
 * since has announced nothing. Undefined on a small site from a peer that announced nothing: the period.
 */
export function intervalOf(s: SyncContext, peer: Peer): number | undefined {
  const announced = peer.secondHand && peer.datagram === undefined ? undefined : peer.intervalMs;
  return judgedInterval(announced, judgingIntervalMs(s));
}

/**
 * This agent's own interval as it judges silences with: that of a site of the agents it holds alive, verified
 * or not (Membership.held), the count its peers reach once their catch-ups land; the interval it sends stays
 * its members' (docs/protocol.md, *Liveness*, "Which interval judges a silence", cold14).
 */
export function judgingIntervalMs(s: SyncContext): number | undefined {
  return s.siteIntervalMs(s.members.held());
}

/**
 * The longer of an announced interval and this agent's own (undefined on a small site), either may be absent;
 * on a stretched site at most INTERVAL_SPREAD times this agent's own: an open site's heartbeat is anyone's from
 * the agent's address, and one naming 1e9 ms made every non-monitor's backstop, and its former monitors'
 * re-probes, never come (attack14, test absurd-interval).
 */
export function judgedInterval(announced: number | undefined, site: number | undefined): number | undefined {
  if (site === undefined) return announced;
  return announced === undefined ? site : Math.min(Math.max(announced, site), site * INTERVAL_SPREAD);
}

/** The ring of the members this one holds alive, itself included (rebuilt only when membership moves). */
export function aliveRing(s: SyncContext): Ring {
  return s.members.ring();
}

/** The members as of both sources' epochs; the ring is made from them when first asked for. */
interface Built {
  peers: number;
  states: number;
  /** Member peers by name (this agent not among them). */
  members: Set<string>;
  /** Peers held alive, verified or not (this agent not among them): the members and the ones not verified yet. */
  held: Set<string>;
  ring?: Ring;
  /** `held` weighed (Membership.held), counted when first asked for. */
  weighed?: number;
}

/**
 * Who the site's members are as this agent sees it (ring.ts, isMember): their number (RTCP's `members`)
 * and the alive ring. Both were counted afresh for every datagram sent, solicit answered, sweep and
 * notice: O(N) per event, N² per second on a site of N. Membership changes only when a peer is added,
 * removed or verified (the peer table's changes) or an origin appears, goes or changes state (the
 * directory's): when either's epoch moved, the names they say changed are looked at again (the whole
 * table after a burst larger than they remember). Every such change moves an epoch, whatever code path
 * made it, so a stale answer cannot be given.
 */
export class Membership {
  private built: Built | undefined;
  /** What isMember looks at besides the peer: the directory's states, which its epoch covers. */
  private readonly member: { c: { directory: Directory } };

  constructor(
    private readonly self: string,
    private readonly peers: PeerTable,
    private readonly directory: Directory,
  ) {
    this.member = { c: { directory } };
  }

  /** Agents alive on the site as this agent sees it, itself included. */
  count(): number {
    return 1 + this.current().members.size;
  }

  /**
   * Agents this one holds alive, verified or not, itself included: what it judges others' silences by
   * (Announcer.stretchedMs), never who counts (RTCP's `members`, the ring, the interval it sends).
   */
  held(): number {
    const built = this.current();
    built.weighed ??= this.weigh(built.held);
    return built.weighed;
  }

  /**
   * The held peers, itself included, an unverified one counted once per peer endpoint (`address:port`): one
   * endpoint is one agent's, so names made up and sent from one (attack17, held-count-backstop: 200 from one
   * address and port, which stretched an open site of 10's backstop from 2 to 134 s) count as one agent. A cold
   * start's unverified agents each have their own (cold14's count is unchanged). A forger that varies the port
   * is bounded only by the unverified peers' budget (SYNC_LIMITS.unverifiedPeers): from one address the
   * bench's loopback agents are told apart from it by nothing before they are verified.
   */
  private weigh(held: Set<string>): number {
    const endpoints = new Set<string>();
    let verified = 0;
    for (const name of held) {
      const peer = this.peers.get(name);
      if (peer?.verified) verified++;
      else if (peer) endpoints.add(peer.claimKey);
    }
    return 1 + verified + endpoints.size;
  }

  /** The names of the peers this one holds alive, verified or not (itself not among them). */
  heldNames(): ReadonlySet<string> {
    return this.current().held;
  }

  /** The ring of the members this one holds alive, itself included. */
  ring(): Ring {
    const built = this.current();
    built.ring ??= new Ring([this.self, ...built.members]);
    return built.ring;
  }

  private current(): Built {
    const peers = this.peers.changes;
    const states = this.directory.stateChanges;
    const built = this.built;
    if (built?.peers === peers.epoch && built.states === states.epoch) return built;
    const changed = built && [peers.since(built.peers), states.since(built.states)];
    if (!built || !changed?.[0] || !changed[1]) return this.rebuild();
    for (const name of [...changed[0], ...changed[1]]) {
      const peer = this.peers.get(name);
      const held = peer !== undefined && this.directory.held(name)?.state === 'alive';
      if (held) built.held.add(name);
      else built.held.delete(name);
      const member = peer !== undefined && isMember(this.member, peer);
      if (member === built.members.has(name)) continue;
      if (member) built.members.add(name);
      else built.members.delete(name);
      built.ring = undefined;
    }
    built.peers = peers.epoch;
    built.states = states.epoch;
    built.weighed = undefined;
    return built;
  }

  private rebuild(): Built {
    const [members, held] = [new Set<string>(), new Set<string>()];
    for (const p of this.peers.values()) {
      if (this.directory.held(p.name)?.state === 'alive') held.add(p.name);
      if (isMember(this.member, p)) members.add(p.name);
    }
    this.built = { peers: this.peers.changes.epoch, states: this.directory.stateChanges.epoch, members, held };
    return this.built;
  }
}
