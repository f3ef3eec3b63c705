import type { Endpoint } from '../transport/transport.js';
import { SYNC_LIMITS } from './config.js';

export interface Waiting {
  endpoint: Endpoint;
  incarnation: number;
  version: number;
  at: number;
}

/** How often waiting agents are tried: each try may add up to the free unverified places. */
const ADMIT_EVERY_MS = 250;

/**
 * Agents heard in unsigned datagrams while every place for unverified agents (128) was taken. Refused
 * outright, such an agent was learnt again only from its next datagram, tens of seconds away on a large
 * site: a cold start of 1,000 unkeyed agents took minutes. They wait here instead (bounded like the peer
 * table, and for as long as an unverified agent is kept), and are added as verifications free places.
 * A flood of forged names gains nothing: they are added, and asked, no faster than before.
 */
export class WaitingRoom {
  private readonly waiting = new Map<string, Waiting>();
  private triedAt = -Infinity;

  add(name: string, w: Waiting): void {
    if (this.waiting.size >= SYNC_LIMITS.peers && !this.waiting.has(name)) return;
    this.waiting.set(name, w);
  }

  remove(name: string): void {
    this.waiting.delete(name);
  }

  /** The agents to try now, oldest first, at most every ADMIT_EVERY_MS; expired ones are dropped. */
  due(now: number): [string, Waiting][] {
    if (this.waiting.size === 0 || now - this.triedAt < ADMIT_EVERY_MS) return [];
    this.triedAt = now;
    for (const [name, w] of this.waiting) if (now - w.at > SYNC_LIMITS.forgetUnverifiedMs) this.waiting.delete(name);
    return [...this.waiting];
  }
}
