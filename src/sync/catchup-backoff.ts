import { failureReason } from './catchup-failure.js';
import { SYNC_LIMITS } from './config.js';
import type { OriginReplica } from './origin-replica.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

// The catch-up's retry back-off (catchup.ts), apart so that the catch-up stays one file under 300 lines.

/**
 * An adopted name whose request timed out (SummaryAdoption.askAgain) is asked once more, this much later (±50 %):
 * a busy agent (a cold start's) has caught up with its own work by then, and one retry a name adds little to it.
 */
export const ADOPTED_RETRY_MS = 8_000;

/**
 * 100 ms doubling to 5 s; for an agent that never answered, to 60 s once its requests have failed for a
 * minute (a made-up name never answers). Within that minute its failures may be the network's alone,
 * and a long wait would show it alive with no devices for up to 90 s after the network heals.
 */
export function backoffMs(s: SyncContext, peer: Peer, r: OriginReplica): number {
  // Only while nothing of it was heard first-hand: a datagram of it says it runs, and its request may have met a cut
  // (swarm seed 15000081: a catch-up into a one-way cut, retried 8 s later, past the quiet window).
  if (peer.adopted && !peer.verified && peer.adoptedTimeouts && !peer.datagram) return ADOPTED_RETRY_MS;
  const exponential = 100 * 2 ** Math.max(0, r.failures - 1);
  return Math.min(exponential, quick(s, peer, r) ? SYNC_LIMITS.retryMaxMs : SYNC_LIMITS.unverifiedRetryMaxMs);
}

/** Retried at the 5 s ceiling: it answered before, its failures are under a minute old, or a member names it. */
export function quick(s: SyncContext, peer: Peer, r: OriginReplica): boolean {
  return trusted(s, peer, r) || s.c.clock.monotonic() - r.namedAt < 2 * SYNC_LIMITS.retryMaxMs;
}

/** It answered at its endpoint once, or its requests have failed for under a minute. */
function trusted(s: SyncContext, peer: Peer, r: OriginReplica): boolean {
  return peer.verified || s.c.clock.monotonic() - r.failingSince < SYNC_LIMITS.unverifiedQuickRetryMs;
}

/**
 * Quick only because members name it (it never answered, its requests failed for a minute): its retries
 * go to the members that named it, never to its endpoint. On an open site anyone may run a member, and
 * one hinting made-up names (a third party's endpoints) drew every agent's catch-ups there at the quick
 * rate (6.4 a minute per agent and name, not 1.4). A member that names a version can serve it; the
 * origin's endpoint is still asked by liveness at the unverified backoff, and verified when it answers.
 */
export function namedOnly(s: SyncContext, peer: Peer, r: OriginReplica): boolean {
  return r.failures > 0 && !trusted(s, peer, r) && quick(s, peer, r);
}

/**
 * How long a provisional life's catch-up waits (ProvisionalLives): one turn of the loop. A host thawed after a
 * freeze reads at once the datagrams of every life a peer restarted into meanwhile, each newer one replacing the
 * last: each asked the same endpoint (3 requests in 1 ms, swarm seeds 32000208 and 31100045 with host faults).
 * Now the newest life read in that turn asks alone (the others' waits end on a replaced replica).
 */
export const PROVISIONAL_WAIT_MS = 1;

/**
 * A failed catch-up is not retried when the origin's own endpoint refused it and no one else may be asked (no member
 * hinted the version, or the life is provisional: asked at its endpoint only). Nothing listens there (liveness loses
 * a peer on that very refusal: its process is gone), and its return (a datagram of the life, an answer, a new life)
 * asks again. A host thawed after 37 s asked a crashed peer's changes 5 times in 1.3 s, each refused, the peer held
 * lost since the first (swarm seed 31100045); a life read from a backlog after its crash, 6 times in 5 s.
 */
export function nothingListens(err: unknown, atOrigin: boolean, r: OriginReplica): boolean {
  const alone = r.previous !== undefined || r.alternates.length === 0;
  return atOrigin && alone && failureReason(err) === 'refused';
}
