import { fnv1a32 } from '../protocol/messages.js';
import { seededRandom } from '../util/random.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * The second member is drawn among this many of the oldest lives heard that began before the first member's: the
 * oldest hold the most (they heard every later start's announcement and fetched its set), and a cold start's
 * newcomers, each drawing its own by a hash of both names, spread over them instead of all asking the very oldest
 * (a site of 1,000 asks each of them ~125 times at most, one request each).
 */
export const SECOND_MEMBERS = 8;

/**
 * Whom a newcomer asks for the sets its join's member lacked (bulk-sets.ts `second`): a peer held alive whose life
 * began before the first member's (incarnations are start times, as the join's checks rank them: join-view.ts), so
 * running longer, among the SECOND_MEMBERS oldest, ranked by a hash of both names (no draw from the agent's random
 * source, whose draws the protocol's timing shares). None if no peer is older than the first. Keyed, a verified
 * one (its datagrams signed). Open, verified or not: a fast start's newcomer has verified few peers by its bulk
 * answer (13 of 49 newcomers found none older, `test/sync-bulk-fast-start.test.ts`), and every set an open site's
 * second member gives, its own included, is second-hand, checked at its origin's endpoint (bulk-sets.ts `take`).
 */
export function secondMember(s: SyncContext, first: Peer, keyed: boolean): Peer | undefined {
  const older = [...s.peers.values()]
    .filter((p) => p !== first && (p.verified || !keyed) && !p.replica.left && !p.replica.previous)
    .filter((p) => p.replica.incarnation < first.replica.incarnation && s.c.directory.held(p.name)?.state === 'alive')
    .sort((a, b) => a.replica.incarnation - b.replica.incarnation)
    .slice(0, SECOND_MEMBERS);
  // FNV alone ranks names that differ in their last digits nearly alike at every newcomer: mixed once more.
  const rank = (p: Peer) => seededRandom(fnv1a32(`${s.cfg.name} ${p.name}`))();
  let [best, bestRank]: [Peer | undefined, number] = [undefined, -1];
  for (const p of older) {
    const r = rank(p);
    if (r > bestRank) [best, bestRank] = [p, r];
  }
  return best;
}
