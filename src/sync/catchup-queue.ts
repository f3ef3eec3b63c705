import { SYNC_LIMITS } from './config.js';
import type { CatchupState, OriginReplica } from './origin-replica.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * The catch-up slots (cfg.fetchConcurrency requests at once: a joining agent does not open 50 connections) and the
 * bounded line behind them (SYNC_LIMITS.pendingCatchups), fair by who named the origin. Origins heard first-hand or
 * verified wait in one line, first come, first served: a keyed site's only one (it adopts nothing), unchanged. Names
 * adopted from a member's summary (SummaryAdoption) wait in a line per namer, the namers taken in turn, and the two
 * classes take turns while both wait. In one line, a forger's summaries naming 100 made-up agents at endpoints that
 * time out (16 adoptions a second against 8 slots, each held to its 2 s deadline) held a busy origin another member
 * named behind them: complete in 22 s, 12.6 s without the forger (sync-adopted-busy).
 *
 * And one namer's adopted names hold all slots but one: taken by the forger's first names as they came, all 8 slots
 * held the busy origin's first request 2 s (16 s). The slot kept costs a join little: the names its summary gives
 * come mostly in the bulk answer (bulk-sets.ts), and the names first-hand or of other namers may use it.
 */
export class CatchupQueue {
  /** First-hand and verified origins, in the order they came. */
  private readonly heard: string[] = [];
  /** Adopted names by namer (peer.adoptedFrom); the map's order is the namers' turn, the one served goes last. */
  private readonly adopted = new Map<string, string[]>();
  private queued = 0;
  /** Whose turn it is while both classes wait: an adopted name's after a first-hand one's, and back. */
  private adoptedNext = false;
  private active = 0;
  /** Slots held by each namer's adopted names, and the namer of each request holding one. */
  private readonly held = new Map<string, number>();
  private readonly namerOf = new WeakMap<CatchupState, string>();

  constructor(
    private readonly s: SyncContext,
    /** Starts a catch-up in a free slot (Catchup.fetch, which takes it). */
    private readonly start: (peer: Peer, r: OriginReplica) => void,
  ) {}

  /** A slot now, else a place in line: false when the lines are full (the caller retries later). */
  enter(peer: Peer, r: OriginReplica): boolean {
    if (this.active < this.s.cfg.fetchConcurrency && this.free1(namerOf(peer))) return (this.start(peer, r), true);
    if (this.queued >= SYNC_LIMITS.pendingCatchups) {
      this.s.bounds.hit('pending-catchups', { agent: peer.name, limit: SYNC_LIMITS.pendingCatchups });
      return false;
    }
    r.catchup = { kind: 'queued' };
    this.lineOf(peer).push(peer.name);
    this.queued += 1;
    return true;
  }

  /** A request took a slot. */
  take(peer: Peer, asking: CatchupState): void {
    this.active += 1;
    const namer = namerOf(peer);
    if (namer === undefined) return;
    this.namerOf.set(asking, namer);
    this.held.set(namer, (this.held.get(namer) ?? 0) + 1);
  }

  /** A request ended, or was let go: its slot is free (drain hands it on). */
  free(asking: CatchupState): void {
    this.active -= 1;
    const namer = this.namerOf.get(asking);
    if (namer === undefined) return;
    this.namerOf.delete(asking);
    const n = (this.held.get(namer) ?? 1) - 1;
    if (n > 0) this.held.set(namer, n);
    else this.held.delete(namer);
  }

  /** Free slots go to the next in turn still behind. */
  drain(): void {
    while (this.active < this.s.cfg.fetchConcurrency && this.queued > 0) {
      const name = this.next();
      if (name === undefined) return; // only a namer at its slots waits
      const peer = this.s.peers.get(name);
      if (!peer || peer.replica.catchup.kind !== 'queued') continue;
      peer.replica.catchup = { kind: 'idle' };
      if (peer.replica.behind()) this.start(peer, peer.replica);
    }
  }

  /** Whether a free slot may go to this namer's adopted name: all but one, while it holds the rest. */
  private free1(namer: string | undefined): boolean {
    return namer === undefined || (this.held.get(namer) ?? 0) < Math.max(1, this.s.cfg.fetchConcurrency - 1);
  }

  private lineOf(peer: Peer): string[] {
    const namer = namerOf(peer);
    if (namer === undefined) return this.heard;
    const line = this.adopted.get(namer) ?? [];
    if (line.length === 0) this.adopted.set(namer, line);
    return line;
  }

  /** The first-hand line's next and the adopted namers' in turn, skipping a namer at its slots. */
  private next(): string | undefined {
    let namer: string | undefined;
    for (const n of this.adopted.keys()) if (namer === undefined && this.free1(n)) namer = n;
    if (namer === undefined || (!this.adoptedNext && this.heard.length > 0)) {
      if (this.heard.length === 0) return undefined;
      this.adoptedNext = true;
      this.queued -= 1;
      return this.heard.shift();
    }
    this.adoptedNext = false;
    this.queued -= 1;
    const line = this.adopted.get(namer) ?? [];
    this.adopted.delete(namer);
    if (line.length > 1) this.adopted.set(namer, line);
    return line.shift();
  }
}

/** Whose summary an adopted, unverified name came from ('' when not known); undefined for any other. */
function namerOf(peer: Peer): string | undefined {
  return peer.adopted && !peer.verified ? (peer.adoptedFrom ?? '') : undefined;
}
