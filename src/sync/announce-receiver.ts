import type { Message } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import type { Catchup } from './catchup.js';
import type { AnnounceChallenges } from './challenges.js';
import { noteFirstCopy } from './first-copies.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * An announce: its delta applied to the sender's replica if the sender proved itself (a key, or an answer at its
 * endpoint and, open, the datagram from its address), else only its version is noted for a catch-up; either way a
 * gap it reveals is caught up. On an open site an unverified sender's announcement from its own address is first
 * challenged at the datagram endpoint it came from (challenges.ts): its echo stands for the catch-up.
 */
export function receiveAnnounce(
  s: SyncContext,
  catchup: Catchup,
  { keyed, challenges }: { keyed: boolean; challenges: AnnounceChallenges },
  { peer, msg, from, datagram }: { peer: Peer; msg: Message; from: Endpoint; datagram: boolean },
): void {
  if (!msg.delta) return catchup.want(peer, msg.version, 'version-only');
  const here = keyed || from.address === peer.endpoint.address;
  if (!peer.verified && here && datagram && challenges.ask(peer, msg, from)) return;
  if (!peer.verified || !here) return catchup.want(peer, msg.version, 'unverified');
  const before = peer.replica.heldVersion();
  const result = peer.replica.apply(msg.delta, s.cfg.reorderGraceMs);
  if (result === 'applied') {
    s.hints.note(peer.name, peer.replica.incarnation, peer.replica.heldVersion(), msg.delta.version > 1);
    noteFirstCopy(s, peer.replica, before, 'announcement');
  } else if (result === 'stale') s.c.metrics.announcementsIgnored.inc({ reason: 'held' });
  else if (result === 'refused') s.bounds.hit('devices-held', { agent: peer.name });
  catchup.want(peer, msg.version, 'announce-gap');
}
