import type { Directory } from '../directory/directory.js';
import type { Peer, PeerTable } from './peer-table.js';
import { Ring } from './ring.js';

/**
 * Who the site's members are as this agent sees it (ring.ts, isMember): their number (RTCP's `members`)
 * and the alive ring. Both were counted afresh for every datagram sent, solicit answered, sweep and
 * notice: O(N) per event, N² per second on a site of N. Membership changes only when a peer is added,
 * removed or verified (the peer table's epoch) or an origin appears, goes or changes state (the
 * directory's), so both are rebuilt whenever either epoch moved since they were built: a stale answer
 * cannot be given, whichever code path made the change.
 */
export class Membership {
  private built: { peers: number; states: number; members: string[]; ring?: Ring } | undefined;

  constructor(
    private readonly self: string,
    private readonly peers: PeerTable,
    private readonly directory: Directory,
    /** isMember: it may look only at the peer table and the directory's states, which the epochs cover. */
    private readonly isMember: (peer: Peer) => boolean,
  ) {}

  /** Agents alive on the site as this agent sees it, itself included. */
  count(): number {
    return this.current().members.length;
  }

  /** The ring of the members this one holds alive, itself included. */
  ring(): Ring {
    const built = this.current();
    built.ring ??= new Ring(built.members);
    return built.ring;
  }

  private current(): { members: string[]; ring?: Ring } {
    const peers = this.peers.epoch;
    const states = this.directory.stateEpoch;
    if (this.built?.peers !== peers || this.built.states !== states) {
      const members = [this.self];
      for (const p of this.peers.values()) if (this.isMember(p)) members.push(p.name);
      this.built = { peers, states, members };
    }
    return this.built;
  }
}
