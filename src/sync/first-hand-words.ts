import { fnv1a32 } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import { SYNC_LIMITS } from './config.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/** How long an agent's word of itself stands: a newcomer's bulk answer comes within seconds of its start. */
export const WORD_MS = 30_000;

/** What an agent said of itself in an echo of this agent's own nonce (challenges.ts), and where it said it from. */
export interface Word {
  incarnation: number;
  version: number;
  setDigest: string;
  from: Endpoint;
  at: number;
}

/**
 * First-hand words: what each agent that challenged this one said of itself when asked back (the counter-nonce of
 * this agent's echo, challenges.ts), by name hash: at a cold start every running agent challenges a newcomer's
 * first announcement within milliseconds, before the newcomer has learnt their names from its join's summary. A set
 * its bulk answer then gives second-hand (bulk-sets.ts) stands on that word, instead of a probe of the origin's
 * endpoint asking for its digest (a `set=1` hello: N(N-1)/2 of them in a cold start of N, 20,349 at 200), when the
 * word came from the origin's address and names the life, version and digest held.
 */
export class FirstHandWords {
  /**
   * By name hash and the address it was said from: anyone may challenge this agent and say what it likes of any
   * hash, but only from its own address. Kept by hash alone, a forger's word replaced the origin's own, and every
   * set so displaced was probed as before (attacks/challenge-words: a newcomer to 60, 0 -> 59 probes).
   */
  private readonly words = new Map<string, Word>();

  constructor(private readonly s: SyncContext) {}

  /** An echo of this agent's nonce named this agent (by hash), from `from`: kept, within SYNC_LIMITS.peers. */
  note(nameHash: number, word: Word): void {
    const key = `${nameHash}@${word.from.address}`;
    if (this.words.size >= SYNC_LIMITS.peers && !this.words.has(key)) {
      for (const [k, w] of this.words) if (word.at - w.at > WORD_MS) this.words.delete(k);
      if (this.words.size >= SYNC_LIMITS.peers) return;
    }
    this.words.set(key, word);
  }

  /**
   * Whether the peer's own word names the set held of it (its life, version and digest, said from its address): then
   * it is verified, as an answer at its endpoint would have, and its set needs no check there.
   */
  confirm(peer: Peer): boolean {
    const w = this.words.get(`${fnv1a32(peer.name)}@${peer.endpoint.address}`);
    if (!w || this.s.c.clock.monotonic() - w.at > WORD_MS) return false;
    const r = peer.replica;
    if (r.previous || w.incarnation !== r.incarnation || w.version !== r.heldVersion()) return false;
    if (w.setDigest !== this.s.c.directory.setDigest(peer.name)) return false;
    if (!peer.verified) queueMicrotask(() => this.s.placeFreed());
    this.s.peers.verify(peer);
    this.s.c.metrics.announceChallenges.inc({ result: 'word-confirmed' });
    return true;
  }
}
