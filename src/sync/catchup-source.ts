import { fnv1a32 } from '../protocol/messages.js';
import type { Endpoint, Holder } from '../transport/transport.js';
import { seededRandom } from '../util/random.js';
import type { OriginReplica } from './origin-replica.js';
import { sameEndpoint, type Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/** A member that hinted a version of an origin this agent lacks: asked when the origin does not answer. */
export interface Alternate {
  endpoint: Endpoint;
  /** The newest version of the origin it hinted (it holds that much). */
  version: number;
  /** This agent's own ranking of it (rendezvous hashing): each viewer keeps and asks different members. */
  weight: number;
}

/** Alternates kept per origin life. */
export const ALTERNATES = 3;

/** Endpoints of alternates that failed kept per origin life (oldest out): a liar's, and a few busy members'. */
export const FAILED_ALTERNATES = 8;

/** Where a catch-up asks: the origin's endpoint, or an alternate. */
export interface CatchupSource {
  endpoint: Endpoint;
  alternate: boolean;
}

/**
 * A member hinted `version` of `r`, newer than held: kept as an alternate if it ranks among this agent's
 * first ALTERNATES, those holding the newest version first, and any whose request failed in this run of failures
 * after all others (alternateFailed). The ranking is a hash of this agent's name, the
 * origin's and the member's endpoint (highest random weight), not the order the hints came in: every viewer
 * heard the same hints in the same order, so each kept the latest reporter first and, under a late loop, the
 * failed catch-ups of every viewer went to that one agent (24-70 catch-ups of others' sets on top of its own
 * 49 in a 50-agent cold start, served17). Ranked, each viewer keeps its own few of the members that hold it.
 */
export function noteAlternate(s: SyncContext, r: OriginReplica, reporter: Endpoint, version: number): void {
  const known = r.alternates.find((a) => sameEndpoint(a.endpoint, reporter));
  // FNV alone ranks endpoints that differ in their last digits nearly alike at every viewer: mixed once more.
  const weight =
    known?.weight ?? seededRandom(fnv1a32(`${s.cfg.name} ${r.name} ${reporter.address}:${reporter.port}`))();
  const entry = { endpoint: reporter, version: Math.max(version, known?.version ?? 0), weight };
  r.alternates = rank(r, [...r.alternates.filter((a) => a !== known), entry]);
}

function rank(r: OriginReplica, alternates: Alternate[]): Alternate[] {
  const failed = (a: Alternate) => (r.failedAlternates.includes(key(a.endpoint)) ? 1 : 0);
  return alternates
    .sort((a, b) => failed(a) - failed(b) || b.version - a.version || b.weight - a.weight)
    .slice(0, ALTERNATES);
}

/**
 * Where this catch-up of `r` asks. At the origin first; after failures, alternately at an alternate and at the
 * origin (at alternates only while members alone name it: `membersOnly`, catchup-backoff.ts `namedOnly`), each
 * turn the next alternate, among those that hinted the version wanted if any did. A provisional life is asked
 * of its endpoint only: whoever else names it may be its forger. An alternate serves a set on top of its own,
 * so it is asked only for an origin that does not answer and was not heard: in a 50-agent cold start whose
 * busy origins left half the catch-ups of the first 4 s unanswered, alternates served 88-95 catch-ups (one
 * agent 26-29 on top of its own 49); asked again, the origins served them (test/sync-retry-alternates).
 */
export function catchupSource(peer: Peer, r: OriginReplica, membersOnly: boolean): CatchupSource {
  const origin = { endpoint: peer.endpoint, alternate: false };
  if (r.failures === 0) r.failedAlternates = []; // a new run of requests: every member may be asked again
  if (r.previous || r.failures === 0 || r.alternates.length === 0) return origin;
  // Heard while its first failed request was out, the origin is there, its loop late (as a probe's timeout of a
  // peer heard meanwhile is no sign it is gone): it is asked again after the backoff, and an alternate only from
  // the third failure, for an origin whose datagrams are heard while its endpoint never answers.
  if (!membersOnly && (r.failures % 2 === 0 || (r.failures === 1 && r.heardWhenFailing))) return origin;
  const turn = membersOnly ? r.failures : r.failures >> 1;
  const untried = r.alternates.filter((a) => !r.failedAlternates.includes(key(a.endpoint)));
  const holding = untried.filter((a) => a.version >= r.target);
  const from = holding.length > 0 ? holding : untried.length > 0 ? untried : r.alternates;
  return { endpoint: from[turn % from.length].endpoint, alternate: true };
}

/**
 * An alternate's catch-up failed (no answer, or one short of the version it hinted: `behind`): for the rest of this run
 * of failed requests it ranks after every other member that hinted one, whatever its next hints name, and is asked
 * only once they all failed too. Ranked by the version hinted, a member hinting one it does not hold (a lie, above
 * the newest) was every viewer's one alternate asked, at every turn, and its next hint set that version again: at 50
 * agents, with an origin silent to 34 viewers for 12 s, 4-5 of them lacked the change at 15 s, the liar asked 130
 * times and the members that held it once (attacks/sync-alternate-liar). Kept, not dropped: a life asked of members
 * only (`namedOnly`) may ask no one else (its endpoint never: attacks/sync-named-hints).
 */
export function alternateFailed(r: OriginReplica, source: Endpoint): void {
  r.failedAlternates = [...r.failedAlternates.filter((e) => e !== key(source)), key(source)].slice(-FAILED_ALTERNATES);
  r.alternates = rank(r, r.alternates);
}

/**
 * An alternate shed the request (a member past the few catch-ups of others' sets it serves a second, others-sets.ts):
 * it ranks last as a failed one, the holders it named are kept as alternates (as hints are), and when one of them or
 * another member that hinted is left untried in this run, it is asked at once, no failure counted (the turn stays an
 * alternate's). With none left, or FAILED_ALTERNATES shed or failed in this run, it is a failure: the origin's turn
 * comes next, after the backoff, as for an agent from before, which reads the shed as any failed request.
 */
export function alternateShed(s: SyncContext, r: OriginReplica, source: Endpoint, holders: Holder[]): boolean {
  alternateFailed(r, source);
  // Only a peer's endpoint: a shed's word is the member's alone, and a forging member named any host and port (a
  // machine that runs no agent, an agent host's port 22): 113 catch-ups of 49 viewers went there in 20 s at 50
  // agents (attacks/sync-shed-steering). A hint could steer a viewer only to the hinting datagram's address.
  const peers = new Set(Array.from(s.peers.values(), (p) => key(p.endpoint)));
  for (const h of holders)
    if (h.version > r.heldVersion() && peers.has(key(h)))
      noteAlternate(s, r, { address: h.address, port: h.port }, h.version);
  // At most FAILED_ALTERNATES - 1 asked at once in a run: members that all shed and name each other cannot loop.
  const room = r.failedAlternates.length < FAILED_ALTERNATES;
  return room && r.alternates.some((a) => !r.failedAlternates.includes(key(a.endpoint)));
}

function key(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`;
}
