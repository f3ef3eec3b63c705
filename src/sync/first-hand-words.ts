import { fnv1a32 } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import { SYNC_LIMITS } from './config.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/** How long an agent's word of itself stands: a newcomer's bulk answer comes within seconds of its start. */
export const WORD_MS = 30_000;

/** Words kept from one address, one a port: agents behind one address (a host's, a NAT's) are few. */
export const PORTS_PER_ADDRESS = 4;

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
   * By name hash and the address it was said from, then by port: anyone may challenge this agent and say what it
   * likes of any hash, but only from its own address. Kept by hash alone, a forger's word replaced the origin's own,
   * and every set so displaced was probed as before (attacks/challenge-words: a newcomer to 60, 0 -> 59 probes).
   * Kept by address alone, an agent behind the origin's address (a second agent on its host, a NAT) still did, and its
   * word stood for the origin's (first-hand-words.test.ts): each port's word is kept, PORTS_PER_ADDRESS at most.
   */
  private readonly words = new Map<string, Word[]>();
  /**
   * The keys of each address: an honest address speaks for its own agents, PORTS_PER_ADDRESS at most. Unbounded, one
   * address's words of made-up hashes took every key of `words` and each origin's own word, a moment later, was
   * dropped (attacks/first-hand-words-flood: every set of the bulk answer probed at its origin again).
   */
  private readonly byAddress = new Map<string, Set<string>>();

  constructor(private readonly s: SyncContext) {}

  /** An echo of this agent's nonce named this agent (by hash), from `from`: kept, within SYNC_LIMITS.peers. */
  note(nameHash: number, word: Word): void {
    const address = word.from.address;
    const key = `${nameHash}@${address}`;
    if (!this.words.has(key)) {
      const full = () =>
        this.words.size >= SYNC_LIMITS.peers || (this.byAddress.get(address)?.size ?? 0) >= PORTS_PER_ADDRESS;
      if (full()) this.expire(word.at, this.words.size >= SYNC_LIMITS.peers ? undefined : address);
      if (full()) return;
      this.byAddress.set(address, (this.byAddress.get(address) ?? new Set()).add(key));
    }
    const others = (this.words.get(key) ?? []).filter((w) => w.from.port !== word.from.port);
    this.words.set(key, [...others.slice(1 - PORTS_PER_ADDRESS), word]);
  }

  /** Keys whose every word is WORD_MS old go: every key, or only the address's when it alone is full. */
  private expire(now: number, address?: string): void {
    const keys = address === undefined ? [...this.words.keys()] : [...(this.byAddress.get(address) ?? [])];
    for (const key of keys) {
      const ws = this.words.get(key) ?? [];
      if (!ws.every((w) => now - w.at > WORD_MS)) continue;
      this.words.delete(key);
      const at = key.slice(key.indexOf('@') + 1);
      const named = this.byAddress.get(at);
      named?.delete(key);
      if (named?.size === 0) this.byAddress.delete(at);
    }
  }

  /**
   * Whether the peer's own word names the set held of it (its life, version and digest, said from its address): then
   * it is verified, as an answer at its endpoint would have, and its set needs no check there. Its word is the one
   * from the port its datagrams come from, once that is known; before (a peer learnt of second-hand), the address is
   * all this agent knows of it, and a word from any port there that names the set held stands.
   */
  confirm(peer: Peer): boolean {
    const words = this.words.get(`${fnv1a32(peer.name)}@${peer.endpoint.address}`) ?? [];
    const at = peer.datagram ?? peer.answeredDatagram;
    const port = at?.address === peer.endpoint.address ? at.port : undefined;
    const now = this.s.c.clock.monotonic();
    const word = words.find((w) => (port === undefined || w.from.port === port) && this.names(peer, w, now));
    if (!word) return false;
    if (!peer.verified) queueMicrotask(() => this.s.placeFreed());
    this.s.peers.verify(peer);
    this.s.c.metrics.announceChallenges.inc({ result: 'word-confirmed' });
    return true;
  }

  /** The word is fresh and names the life, version and set this agent holds of the peer. */
  private names(peer: Peer, w: Word, now: number): boolean {
    const r = peer.replica;
    if (now - w.at > WORD_MS || r.previous || w.incarnation !== r.incarnation || w.version !== r.heldVersion())
      return false;
    return w.setDigest === this.s.c.directory.setDigest(peer.name);
  }
}
