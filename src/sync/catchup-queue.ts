import { SYNC_LIMITS } from './config.js';
import type { OriginReplica } from './origin-replica.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * The catch-up slots (cfg.fetchConcurrency requests at once: a joining agent does not open 50 connections) and the
 * bounded line behind them (SYNC_LIMITS.pendingCatchups), first come, first served.
 */
export class CatchupQueue {
  private readonly line: string[] = [];
  private active = 0;

  constructor(
    private readonly s: SyncContext,
    /** Starts a catch-up in a free slot (Catchup.fetch, which takes it). */
    private readonly start: (peer: Peer, r: OriginReplica) => void,
  ) {}

  /** A slot now, else a place in line: false when the line is full (the caller retries later). */
  enter(peer: Peer, r: OriginReplica): boolean {
    if (this.active < this.s.cfg.fetchConcurrency) return (this.start(peer, r), true);
    if (this.line.length >= SYNC_LIMITS.pendingCatchups) {
      this.s.bounds.hit('pending-catchups', { agent: peer.name, limit: SYNC_LIMITS.pendingCatchups });
      return false;
    }
    r.catchup = { kind: 'queued' };
    this.line.push(peer.name);
    return true;
  }

  /** A request took a slot. */
  take(): void {
    this.active += 1;
  }

  /** A request ended, or was let go: its slot is free (drain hands it on). */
  free(): void {
    this.active -= 1;
  }

  /** Free slots go to the next in line still behind. */
  drain(): void {
    while (this.active < this.s.cfg.fetchConcurrency && this.line.length > 0) {
      const name = this.line.shift();
      const peer = name === undefined ? undefined : this.s.peers.get(name);
      if (!peer || peer.replica.catchup.kind !== 'queued') continue;
      peer.replica.catchup = { kind: 'idle' };
      if (peer.replica.behind()) this.start(peer, peer.replica);
    }
  }
}
