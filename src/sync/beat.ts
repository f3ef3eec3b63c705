import { decodeBeat, encodeBeat } from '../protocol/beat.js';
import { fnv1a32, incarnationTag, MessageType, type Hint, type Message } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import { sameEndpoint, type Peer } from './peer-table.js';
import { aliveRing } from './ring.js';
import type { SyncContext } from './sync-context.js';

/**
 * Beats on a keyed site (protocol/beat.ts): the monitors' unicast heartbeats, 13 bytes of message instead
 * of a whole heartbeat's 37 or more. Each agent receives two a second whatever the site's size, so at 1,000
 * agents they were a third of what it received (docs/protocol.md, "Scale").
 */

/** This agent's beat: itself as a hint, and the ring's hints of this round. */
export function beatOf(s: SyncContext, version: number, hints: Hint[]): Buffer {
  const self = { nameHash: fnv1a32(s.cfg.name), incarnationTag: incarnationTag(s.cfg.incarnation), version };
  return encodeBeat({ self, hints });
}

/** A fresh beat of a known life from another endpoint, at one of its monitors: the caller probes it there (a move?). */
export interface MovedBeat {
  mover: Peer;
  at: Endpoint;
}

/**
 * The heartbeat a beat stands for, its omitted fields filled from this agent's record of the sender: so a
 * beat is handled exactly as the heartbeat would be (freshness, liveness, gaps, hints, a lost agent heard
 * again). Taken only on a keyed site (where the tag proves a member sent it), from the datagram endpoint
 * the record holds (or, before any datagram of it was heard, from its peer endpoint's address), in the
 * life the record holds; otherwise why not, counted (its monitor probes it, as it would a silent agent, and its
 * next multicast datagram says more): `unknown-beat` (no agent of that name hash sends from there),
 * `beat-other-life` (that agent in another life than the one held); a fresh beat of the life held from another
 * endpoint, at one of its monitors, is returned as a MovedBeat for the caller to probe there (then `unknown-beat`).
 */
export function heartbeatOfBeat(
  s: SyncContext,
  keyed: boolean,
  bytes: Uint8Array,
  from: Endpoint,
  sentAt?: number,
): Message | 'unknown-beat' | 'beat-other-life' | MovedBeat {
  const beat = decodeBeat(bytes);
  // Names whose hashes collide are told apart by the endpoint on record.
  const named = keyed ? s.peers.allByHash(beat.self.nameHash) : [];
  const peer = named.find((p) => beatsFrom(p, from));
  if (!peer) {
    // Its life, fresh (no replay), from elsewhere, at one of its monitors: it may have moved (same life, a new
    // address). Returned for the caller to probe there, as a heartbeat from elsewhere is; never believed
    // unanswered. Else its monitor probed the vacant old address and lost it, its multicast minutes away on a
    // stretched site (attack14, test sync-move). Only its monitors, whose replay mark its beats keep fresh: to any
    // other agent a captured beat is newer than the last multicast heard, and its replays from any address drew
    // probes there (forged-move).
    const tag = beat.self.incarnationTag;
    const mover = named.find((p) => incarnationTag(p.replica.incarnation) === tag);
    const fresh = mover !== undefined && sentAt !== undefined && sentAt > mover.lastSentAt;
    if (fresh && aliveRing(s).watches(s.cfg.name, mover.name))
      return { mover, at: { address: from.address, port: mover.endpoint.port } };
    return 'unknown-beat';
  }
  if (incarnationTag(peer.replica.incarnation) !== beat.self.incarnationTag) return 'beat-other-life';
  const msg: Message = {
    type: MessageType.heartbeat,
    site: s.cfg.site,
    name: peer.name,
    incarnation: peer.replica.incarnation,
    version: beat.self.version,
    peerPort: peer.endpoint.port,
    hints: beat.hints,
  };
  if (peer.intervalMs !== undefined) msg.intervalMs = peer.intervalMs;
  return msg;
}

/** Its datagram endpoint; before any datagram of it was heard (learnt from a summary), its peer address. */
function beatsFrom(peer: Peer, from: Endpoint): boolean {
  return peer.datagram ? sameEndpoint(peer.datagram, from) : peer.endpoint.address === from.address;
}
