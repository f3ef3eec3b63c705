import type { Directory } from '../directory/directory.js';
import type { Peer, PeerTable } from './peer-table.js';
import { Ring } from './ring.js';

/** The members as of both sources' epochs; the ring is made from them when first asked for. */
interface Built {
  peers: number;
  states: number;
  /** Member peers by name (this agent not among them). */
  members: Set<string>;
  ring?: Ring;
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

  constructor(
    private readonly self: string,
    private readonly peers: PeerTable,
    private readonly directory: Directory,
    /** isMember: it may look only at the peer table and the directory's states, which the epochs cover. */
    private readonly isMember: (peer: Peer) => boolean,
  ) {}

  /** Agents alive on the site as this agent sees it, itself included. */
  count(): number {
    return 1 + this.current().members.size;
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
      const member = peer !== undefined && this.isMember(peer);
      if (member === built.members.has(name)) continue;
      if (member) built.members.add(name);
      else built.members.delete(name);
      built.ring = undefined;
    }
    built.peers = peers.epoch;
    built.states = states.epoch;
    return built;
  }

  private rebuild(): Built {
    const members = new Set<string>();
    for (const p of this.peers.values()) if (this.isMember(p)) members.add(p.name);
    this.built = { peers: this.peers.changes.epoch, states: this.directory.stateChanges.epoch, members };
    return this.built;
  }
}
