import type { Endpoint } from '../transport/transport.js';
import { SYNC_LIMITS } from './config.js';

export interface Waiting {
  endpoint: Endpoint;
  incarnation: number;
  version: number;
  at: number;
}

/** How often expired waiting agents are dropped. */
const EXPIRE_EVERY_MS = 250;

/**
 * Agents heard in unsigned datagrams while every place for unverified agents (128) was taken. Refused
 * outright, such an agent was learnt again only from its next datagram, tens of seconds away on a large
 * site: a cold start of 1,000 unkeyed agents took minutes. They wait here instead (bounded like the peer
 * table, and for as long as an unverified agent is kept), and are added as verifications free places.
 * They are tried each liveness sweep and each time a verification frees a place (a newcomer to 1,000
 * agents waits for ~870 names: one sweep each 500 ms per 128 places took 3.5 s). A flood of forged names
 * gains nothing: they never answer, so free no place, and are added, and asked, no faster than before.
 */
export class WaitingRoom {
  private readonly waiting = new Map<string, Waiting>();
  private expiredAt = -Infinity;

  add(name: string, w: Waiting): void {
    if (this.waiting.size >= SYNC_LIMITS.peers && !this.waiting.has(name)) return;
    this.waiting.set(name, w);
  }

  remove(name: string): void {
    this.waiting.delete(name);
  }

  /**
   * The agents to try now, oldest first, expired ones dropped. Live: the caller removes as it admits, and
   * stops at the first that finds no place, so a call costs what it admits, not the room's size.
   */
  due(now: number): IterableIterator<[string, Waiting]> {
    if (now - this.expiredAt >= EXPIRE_EVERY_MS) {
      this.expiredAt = now;
      for (const [name, w] of this.waiting) if (now - w.at > SYNC_LIMITS.forgetUnverifiedMs) this.waiting.delete(name);
    }
    return this.waiting.entries();
  }
}
