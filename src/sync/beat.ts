import { decodeBeat, encodeBeat } from '../protocol/beat.js';
import { fnv1a32, incarnationTag, MessageType, type Hint, type Message } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import { sameEndpoint, type Peer } from './peer-table.js';
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

/**
 * The heartbeat a beat stands for, its omitted fields filled from this agent's record of the sender: so a
 * beat is handled exactly as the heartbeat would be (freshness, liveness, gaps, hints, a lost agent heard
 * again). Taken only on a keyed site (where the tag proves a member sent it), from the datagram endpoint
 * the record holds (or, before any datagram of it was heard, from its peer endpoint's address), in the
 * life the record holds; otherwise why not, counted (its monitor probes it, as it would a silent agent, and its
 * next multicast datagram says more): `unknown-beat` (no agent of that name hash sends from there),
 * `beat-other-life` (that agent in another life than the one held).
 */
export function heartbeatOfBeat(
  s: SyncContext,
  keyed: boolean,
  bytes: Uint8Array,
  from: Endpoint,
): Message | 'unknown-beat' | 'beat-other-life' {
  const beat = decodeBeat(bytes);
  // Names whose hashes collide are told apart by the endpoint on record.
  const peer = keyed ? s.peers.allByHash(beat.self.nameHash).find((p) => beatsFrom(p, from)) : undefined;
  if (!peer) return 'unknown-beat';
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
