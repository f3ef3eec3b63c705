/**
 * A newcomer's first datagrams reach the whole site at once, and every agent then asked its endpoint for its
 * devices at once: 199 connections at 200 agents, against an accept queue of 64 (src/http/listen.ts). The
 * kernel dropped the excess; those agents took the newcomer's devices from a member instead, held it
 * second-hand, unverified, and each had to probe its endpoint later (change0): 25.6k verification probes
 * in a 200-agent cold start on real sockets, most of its CPU. Spread over a short window, the same
 * catch-ups all reach the newcomer, each verifies it, and no probe is owed. (TCP incast: Vasudevan et al.,
 * SIGCOMM 2009, desynchronise the senders; RTCP's randomised first report, RFC 3550 §6.3, spreads a
 * group's answers to one event the same way.)
 */

/** Fewer peers than the listen backlog fit in the newcomer's accept queue together: no spread (50 agents as before). */
export const FIRST_FETCH_SPREAD_FROM_PEERS = 64;
/** The window grows with the site: 1 s at 200 peers, within the listen backlog's 64 per ~320 ms. */
const SPREAD_MS_PER_PEER = 5;
/** At most this many liveness periods: a large site's newcomer is still held everywhere within ~2 s. */
const SPREAD_MAX_PERIODS = 2;

/** The window a site of `peers` spreads its first catch-ups of a newcomer over (0: none). */
export function firstFetchSpreadMs(peers: number, periodMs: number): number {
  if (peers < FIRST_FETCH_SPREAD_FROM_PEERS) return 0;
  return Math.min(peers * SPREAD_MS_PER_PEER, SPREAD_MAX_PERIODS * periodMs);
}
