import type { Endpoint, PeerSummary } from '../transport/transport.js';
import { TokenBuckets } from '../util/token-bucket.js';
import { SYNC_LIMITS } from './config.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * Unknown names adopted from summaries, all together: a whole site at once (a newcomer's join summary),
 * then about one new agent a second on average. Forged summaries cannot go past this.
 */
const ADOPTIONS_PER_SECOND = 16;

/**
 * Requests an adopted name is given while they time out: the second one late (ADOPTED_RETRY_MS, catchup-backoff.ts),
 * so that an agent busy that long is still caught up from its own endpoint.
 */
const ADOPTED_TIMEOUTS = 2;

/**
 * Those second requests, all names together. Each holds a catch-up slot to its deadline: a summary naming 250
 * made-up agents at endpoints that drop connections, each given 4 requests (a first form), kept real catch-ups out
 * of the slots for a minute (attacks/sync-summary); and in a cold start of 200 every origin is busy, so that every
 * retry of one loads the busiest agents further: 4 quick requests, at one a second, collapsed it (9k failed
 * catch-ups, 1.6k before).
 */
const TIMEOUT_RETRIES_PER_SECOND = 0.25;
const TIMEOUT_RETRIES_BURST = 4;
/**
 * Of those, the names one peer's summaries gave: three quarters. A member that names made-up agents at endpoints that
 * time out, a few at a time ahead of the real ones, took the whole budget, and a busy origin named by another lost its
 * second request (sync-adopted-busy's forger: complete in 31.6 s, 12.6 s without). At half, a join's first summary
 * naming 3 busy origins left one without (30.6 s, 11.5 s at three quarters); 4 of them are past it either way.
 */
const SENDER_SHARE = 0.75;

/** After an adoption failed at an endpoint, no name is adopted there for this long (it may be verified). */
const DECLINE_MS = SYNC_LIMITS.unverifiedRetryMaxMs;

/**
 * Which names of a verified peer's summary an open (unkeyed) site adds at once, unverified, to catch them
 * up from their own endpoint, whose answer as the origin verifies them. Verifying each first (5 a second)
 * left a newcomer on a stretched site of 200 agents waiting 12 s for the others' heartbeats.
 *
 * A summary names endpoints that are not its sender's, so: on-link ones only (a peer's summary must not
 * turn this agent into a source of requests to hosts beyond the link), with devices to fetch (version > 0),
 * within a budget; and an adopted name is given one request (two if the first times out: askAgain): if its
 * endpoint does not answer as it, it is dropped and, for DECLINE_MS, left to the budgeted verification (or
 * to its own heartbeat).
 */
export class SummaryAdoption {
  private readonly budget: TokenBuckets;
  private readonly retries: TokenBuckets;
  private readonly retriesBySender: TokenBuckets;
  /**
   * `address:port` of adoptions, until when no other name is adopted there (a minute after it failed). By
   * endpoint, not by name: one agent at most listens at an endpoint, and a summary naming 500 made-up
   * agents at one third party's endpoint drew 500 requests there from every agent that read it.
   */
  private readonly declined = new Map<string, number>();
  /**
   * Adopted names that wait for a place among the unverified (the waiting room), with the peer whose summary named
   * them: let in without it, a forger's names past the places had no namer, a second share of the retries
   * (askAgain) and a line of their own in the catch-up queue (catchup-queue.ts), ahead of a busy origin's.
   */
  private readonly waiting = new Map<string, string | undefined>();

  constructor(private readonly s: SyncContext) {
    this.budget = new TokenBuckets(s.c.clock, ADOPTIONS_PER_SECOND, SYNC_LIMITS.peers);
    this.retries = new TokenBuckets(s.c.clock, TIMEOUT_RETRIES_PER_SECOND, TIMEOUT_RETRIES_BURST);
    this.retriesBySender = new TokenBuckets(
      s.c.clock,
      TIMEOUT_RETRIES_PER_SECOND * SENDER_SHARE,
      TIMEOUT_RETRIES_BURST * SENDER_SHARE,
      SYNC_LIMITS.peers,
    );
  }

  /** Off this agent's link, as far as it knows its link (with no link known, nothing is). */
  offLink(address: string): boolean {
    return this.s.c.onLink !== undefined && !this.s.c.onLink(address);
  }

  allows(s: PeerSummary): boolean {
    if (s.version === 0 || this.s.c.onLink?.(s.address) !== true) return false;
    const key = keyOf(s);
    const until = this.declined.get(key);
    if (until !== undefined && this.s.c.clock.monotonic() < until) return false;
    if (!this.budget.take('adopt')) return false;
    this.decline(s); // one name per endpoint: the next one there waits until this one failed a minute ago
    return true;
  }

  /**
   * A request at an adopted name's endpoint timed out: whether it is asked again (a busy agent's answer comes late)
   * rather than dropped. A refusal (nothing listens there) is never asked again.
   */
  askAgain(peer: Peer): boolean {
    peer.adoptedTimeouts = (peer.adoptedTimeouts ?? 0) + 1;
    if (peer.adoptedTimeouts >= ADOPTED_TIMEOUTS) return false;
    // The sender's share first: a forger's names spend it, and leave the rest of the site's budget to others'.
    return this.retriesBySender.take(peer.adoptedFrom ?? '') && this.retries.take('timeout');
  }

  /** Its endpoint did not answer as it (or at all). */
  decline(endpoint: Endpoint): void {
    this.declined.delete(keyOf(endpoint));
    const oldest = this.declined.keys().next();
    if (this.declined.size >= SYNC_LIMITS.peers && !oldest.done) this.declined.delete(oldest.value);
    this.declined.set(keyOf(endpoint), this.s.c.clock.monotonic() + DECLINE_MS);
  }

  /**
   * An adopted name found no unverified place: it waits in the waiting room. The oldest goes when full:
   * names that left the waiting room otherwise (expired, or heard first-hand) are never admitted, and a
   * full set marked no later adoption, so that a made-up name past the places cost a backoff's worth.
   */
  wait(name: string, from?: string): void {
    this.waiting.delete(name);
    const oldest = this.waiting.keys().next();
    if (this.waiting.size >= SYNC_LIMITS.peers && !oldest.done) this.waiting.delete(oldest.value);
    this.waiting.set(name, from);
  }

  /** A name let in from the waiting room: whether it was an adopted one (undefined if not), and who named it. */
  admitted(name: string): { from?: string } | undefined {
    if (!this.waiting.has(name)) return undefined;
    const from = this.waiting.get(name);
    this.waiting.delete(name);
    return { from };
  }
}

function keyOf(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`;
}
