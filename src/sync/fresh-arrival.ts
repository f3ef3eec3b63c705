import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { Peer } from './peer-table.js';
import type { Arrival } from './sync-context.js';

/**
 * Whether the datagram is newer than any heard from this agent (its sender's clock, keyed sites): a replay or a
 * copy refreshes nothing. A fresh one moves the mark later replays are judged by.
 */
export function freshArrival(peer: Peer, arrival: Arrival, metrics: HeraldMetrics): boolean {
  if (arrival.sentAt === undefined) return true;
  if (arrival.sentAt <= peer.lastSentAt) {
    arrival.replay = true;
    metrics.announcementsIgnored.inc({ reason: 'replay' });
    return false;
  }
  peer.lastSentAt = arrival.sentAt;
  return true;
}
