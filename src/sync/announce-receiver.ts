import type { Message } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import type { Catchup } from './catchup.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * An announce: its delta applied to the sender's replica if the sender proved itself (a key, or an answer at its
 * endpoint and, open, the datagram from its address), else only its version is noted for a catch-up; either way a
 * gap it reveals is caught up.
 */
export function receiveAnnounce(
  s: SyncContext,
  catchup: Catchup,
  keyed: boolean,
  { peer, msg, from }: { peer: Peer; msg: Message; from: Endpoint },
): void {
  if (!msg.delta) return catchup.want(peer, msg.version, 'version-only');
  if (!peer.verified || (!keyed && from.address !== peer.endpoint.address))
    return catchup.want(peer, msg.version, 'unverified');
  const result = peer.replica.apply(msg.delta, s.cfg.reorderGraceMs);
  if (result === 'applied')
    s.hints.note(peer.name, peer.replica.incarnation, peer.replica.heldVersion(), msg.delta.version > 1);
  else if (result === 'stale') s.c.metrics.announcementsIgnored.inc({ reason: 'held' });
  else if (result === 'refused') s.bounds.hit('devices-held', { agent: peer.name });
  catchup.want(peer, msg.version, 'announce-gap');
}
