import type { Changes } from '../directory/directory.js';
import { PeerRequestError } from '../transport/transport.js';
import { jitter } from '../util/random.js';
import { TokenBuckets } from '../util/token-bucket.js';
import { backoffMs, namedOnly, nothingListens, PROVISIONAL_WAIT_MS, quick } from './catchup-backoff.js';
import { CatchupFailure, failureReason } from './catchup-failure.js';
import { alternateFailed, alternateShed, catchupSource } from './catchup-source.js';
import { CatchupQueue } from './catchup-queue.js';
import { fetchChanges, type LocalHealthHooks } from './changes-fetch.js';
import { noteFirstCopy } from './first-copies.js';
import { firstFetchSpreadMs } from './first-fetch-spread.js';
import { outlived, type CatchupState, type OriginReplica } from './origin-replica.js';
import { sameEndpoint, type Peer } from './peer-table.js';
import type { ProvisionalLives } from './provisional-lives.js';
import type { SyncContext } from './sync-context.js';

/**
 * Point-to-point catch-up: one state per origin life, a bounded queue behind a few connection slots (catchup-queue.ts),
 * a request budget per origin, and backoff after failures (longer for agents that never answered for a minute).
 */
export class Catchup {
  private readonly queue: CatchupQueue;
  /** Catch-up requests per origin: forged or buggy signals cannot turn into a request storm. */
  private readonly budget: TokenBuckets;
  /** When this agent first wanted anything (its start), and the lives whose first catch-up was spread. */
  private firstWantAt: number | undefined;
  private readonly spread = new WeakSet<OriginReplica>();
  /** Fetches let go when the origin answered elsewhere (askedWhereItLeft): nothing of theirs is applied or settled. */
  private readonly letGo = new WeakSet<CatchupState>();
  /** Lives whose first catch-up waits for the join's bulk answer (bulk-sets.ts): released when it settles. */
  private readonly heldForBulk = new Set<OriginReplica>();

  constructor(
    private readonly s: SyncContext,
    /** An answer revealed a newer life of the origin. */
    private readonly onNewLife: (peer: Peer, incarnation: number, version: number, signal: string) => void,
    private readonly lives: Pick<ProvisionalLives, 'answered'>,
    private readonly hooks: {
      /** Devices of an unverified origin were applied from a member's answer (Sweep asks its endpoint). */
      heldSecondHand(peer: Peer): void;
      /** The longest this agent's loop stalled since `since` (LocalHealth.longestStallSince). */
      stallSince(since: number): number;
      /** How long a first catch-up of this life waits for the join's bulk answer (BulkSets.waitMs). */
      bulkWaitMs(r: OriginReplica, signal: string): number;
      /** A set the join's bulk answer kept for this origin is taken first (BulkSets.offered). */
      offered(peer: Peer): void;
    } & LocalHealthHooks,
  ) {
    this.budget = new TokenBuckets(s.c.clock, 10, 20);
    this.queue = new CatchupQueue(s, (peer, r) => void this.fetch(peer, r));
  }

  /** Origins whose catch-up is under way or pending. */
  pending(): number {
    let n = 0;
    for (const p of this.s.peers.values()) if (p.replica.behind() && p.replica.catchup.kind !== 'refused') n++;
    return n;
  }

  /**
   * The peer just answered at its endpoint (a probe): a retry waiting out a backoff earned while it was
   * unreachable (or somewhere else) goes now, and a fetch at an endpoint it has left is asked again here.
   */
  reachable(peer: Peer): void {
    const r = peer.replica;
    const asking = r.catchup;
    const left = asking.kind === 'fetching' && asking.from && !sameEndpoint(asking.from, peer.endpoint);
    if (asking.kind === 'fetching' && (left || outlived(asking, this.s, this.hooks)))
      return this.askedWhereItLeft(peer, r, asking);
    if (r.catchup.kind !== 'waiting' || r.failures === 0) return;
    this.s.c.clock.clearTimeout(r.catchup.timer);
    r.catchup = { kind: 'idle' };
    r.failures = 0;
  }

  /**
   * It answered at an endpoint other than the one its catch-up in flight asks: that request waits at an address
   * it left, with a deadline a frozen agent's late loop stretched to 16 s: thawed, a host that slept through the
   * origin's move asked it where it had been, and held its changes back past the site's quiet 15 s (swarm seeds
   * 23000539, 295, 914 with host faults). It is let go (its answer unused, its slot freed) and asked again here.
   */
  private askedWhereItLeft(peer: Peer, r: OriginReplica, asking: CatchupState): void {
    this.letGo.add(asking);
    this.queue.free(asking);
    r.catchup = { kind: 'idle' };
    if (r.behind()) this.enqueue(peer, r); // the slot it freed first
    this.queue.drain();
  }

  /**
   * A member's fresh datagram names a version of this origin that this agent lacks: the origin is real and
   * still heard, so a retry waiting out the 60 s ceiling for never-answering names goes now, and later
   * failures wait at most the quick ceiling while members keep naming it (the changes of a site under
   * load used to wait 30-90 s for an origin not yet verified). Made-up names are never named by members,
   * so the flood bound of issue 16 holds.
   */
  named(peer: Peer): void {
    const r = peer.replica;
    const long = !quick(this.s, peer, r);
    r.namedAt = this.s.c.clock.monotonic();
    if (!long || r.catchup.kind !== 'waiting' || r.failures === 0) return;
    this.s.c.clock.clearTimeout(r.catchup.timer);
    r.catchup = { kind: 'idle' };
    this.want(peer, r.target, 'named');
  }

  /** Notes that `version` of the peer's current life exists; starts a catch-up if it is not held. */
  want(peer: Peer, version: number, signal: string): void {
    const r = peer.replica;
    r.know(version);
    this.hooks.offered(peer);
    if (r.catchup.kind === 'refused' && r.target > r.catchup.target) r.catchup = { kind: 'idle' };
    // Out past the plain deadline and this agent's stalls since: stretched for a lateness over before it went (a
    // thaw into a lost request: 16 s, swarm seed 18279), it is let go while the version is still named.
    const asking = r.catchup;
    if (asking.kind === 'fetching' && r.behind() && outlived(asking, this.s, this.hooks))
      return this.askedWhereItLeft(peer, r, asking);
    if (!r.behind() || r.catchup.kind !== 'idle') return;
    // The missing announcement may be a few milliseconds behind: give it that long.
    const bulk = this.hooks.bulkWaitMs(r, signal);
    const newer = r.previous ? PROVISIONAL_WAIT_MS : 0; // a newer life read in the same turn asks alone
    const wait = Math.max(r.buffer.graceUntil - this.s.c.clock.monotonic(), this.firstFetchWaitMs(r), bulk, newer);
    if (bulk > 0) this.heldForBulk.add(r);
    if (wait > 0) {
      this.wait(peer, r, wait, () => {
        r.buffer.graceUntil = 0;
        // The join probe's later tries, stretched by a loop found late after the first, held the bulk longer.
        if (this.heldForBulk.has(r) && this.hooks.bulkWaitMs(r, signal) > 0) return this.want(peer, r.target, signal);
        if (this.heldForBulk.delete(r) && r.behind()) this.s.c.metrics.bulkHeld.inc({ released: 'hold' });
        if (!r.behind()) return;
        this.s.c.metrics.gapsDetected.inc({ signal });
        this.enqueue(peer, r);
      });
      return;
    }
    this.s.c.metrics.gapsDetected.inc({ signal });
    this.enqueue(peer, r);
  }

  /** The join's bulk answer settled (bulk-sets.ts): a catch-up it held back goes now, if its set did not come. */
  released(by: 'answer' | 'hold'): void {
    const held = new Set(this.heldForBulk);
    this.heldForBulk.clear();
    for (const peer of this.s.peers.values()) {
      const r = peer.replica;
      if (!held.has(r) || r.catchup.kind !== 'waiting') continue;
      this.s.c.clock.clearTimeout(r.catchup.timer);
      r.catchup = { kind: 'idle' };
      if (r.behind()) this.s.c.metrics.bulkHeld.inc({ released: by });
      this.want(peer, r.target, 'bulk');
    }
  }

  /** A random share of the spread before a newcomer's first catch-up (first-fetch-spread.ts), once per life; a
   * newcomer catching up with the site is no one's incast, and asks at once. Not by `verified`: a keyed site's
   * newcomer is verified by its signed datagram, its large set then fetched by all at once. */
  private firstFetchWaitMs(r: OriginReplica): number {
    const now = this.s.c.clock.monotonic();
    this.firstWantAt ??= now;
    if (r.heldVersion() > 0 || r.failures > 0 || this.spread.has(r)) return 0;
    const window = firstFetchSpreadMs(this.s.peers.size, this.s.cfg.livenessPeriodMs);
    if (window === 0 || now - this.firstWantAt < window) return 0;
    this.spread.add(r);
    return this.s.c.random() * window;
  }

  private wait(peer: Peer, r: OriginReplica, ms: number, then: () => void): void {
    const timer = this.s.c.clock.setTimeout(() => {
      if (r.catchup.kind !== 'waiting' || r.catchup.timer !== timer) return;
      r.catchup = { kind: 'idle' };
      if (this.s.running() && peer.replica === r) then();
    }, ms);
    r.catchup = { kind: 'waiting', timer };
  }

  private enqueue(peer: Peer, r: OriginReplica): void {
    if (!this.budget.take(peer.name)) {
      this.s.c.metrics.invalidInput.inc({ source: 'sync', reason: 'catchup-rate-limited' });
      return this.wait(peer, r, this.budget.waitMs(peer.name), () => this.enqueue(peer, r));
    }
    if (!this.queue.enter(peer, r)) this.retryLater(peer, r, true);
  }

  private async fetch(peer: Peer, r: OriginReplica): Promise<void> {
    const { endpoint: source, alternate: useAlternate } = catchupSource(peer, r, namedOnly(this.s, peer, r));
    const started = this.s.c.clock.monotonic();
    const asking: CatchupState = { kind: 'fetching', from: useAlternate ? undefined : source, at: started };
    r.catchup = asking;
    this.queue.take(peer, asking);
    let [failed, gone] = [false, false];
    try {
      const changes = await fetchChanges(this.s, source, r, this.hooks, useAlternate ? this.s.cfg.peerPort : undefined);
      if (!this.s.running() || peer.replica !== r || this.letGo.has(asking)) return;
      this.use(peer, r, changes, !useAlternate);
      this.s.c.metrics.catchupRequests.inc({ result: changes.kind });
      this.s.c.metrics.catchupSeconds.observe((this.s.c.clock.monotonic() - started) / 1000);
    } catch (err) {
      if (!this.s.running() || this.letGo.has(asking)) return;
      // Asked again at once, with the deadline its lag now stretches: the peer did its part.
      if (err instanceof CatchupFailure && err.reason === 'lagged')
        return this.s.c.metrics.catchupRequests.inc({ result: 'lagged' });
      // Shed by a busy member, at once: a holder it named, or the next member that hinted, is asked now.
      if (
        useAlternate &&
        err instanceof PeerRequestError &&
        err.reason === 'shed' &&
        alternateShed(this.s, r, source, err.holders)
      )
        return this.s.c.metrics.peerRequestFailures.inc({ route: 'changes', reason: 'shed' });
      [failed, gone] = [true, nothingListens(err, !useAlternate, r)];
      if (r.failures === 0) r.failingSince = this.s.c.clock.monotonic();
      if (!useAlternate) r.heardWhenFailing = peer.lastHeard > started;
      else alternateFailed(r, source);
      r.failures += 1;
      if (!useAlternate) this.s.unreachable(peer.name, failureReason(err) === 'timeout');
      this.s.c.metrics.catchupRequests.inc({ result: 'failed' });
      this.s.c.metrics.peerRequestFailures.inc({ route: 'changes', reason: failureReason(err) });
      this.s.c.logger[r.failures === 3 ? 'warn' : 'debug'](
        {
          agent: peer.name,
          from: `${source.address}:${source.port}`,
          failures: r.failures,
          err: (err as Error).message,
        },
        'catch-up failed; retrying',
      );
    } finally {
      if (!this.letGo.has(asking)) this.settle(peer, r, asking, failed, gone);
    }
  }

  /** After a fetch: the slot goes to the next in line, and a life still behind tries again. */
  private settle(peer: Peer, r: OriginReplica, asking: CatchupState, failed: boolean, gone: boolean): void {
    this.queue.free(asking);
    const state: CatchupState = r.catchup;
    if (state.kind === 'fetching') r.catchup = { kind: 'idle' };
    if (!this.s.running()) return;
    this.queue.drain();
    if (peer.replica !== r || !r.behind() || r.catchup.kind !== 'idle') return;
    // Refused at its endpoint: not retried, but its datagrams ask again only after the backoff (a flood of made-up
    // names, each refused, would otherwise ask at every datagram: attacks/sync-names, 2.6 -> 128 a second).
    if (gone) return this.wait(peer, r, jitter(this.s.c.random, backoffMs(this.s, peer, r), 0.5), () => {});
    this.retryLater(peer, r, failed);
  }

  /** Applies an answer to the life it was asked for, or hands a newer life over to the sync. */
  private use(peer: Peer, r: OriginReplica, changes: Changes, fromOrigin: boolean): void {
    if (fromOrigin && r.previous) {
      this.lives.answered(peer, r, changes.incarnation, 'catch-up');
      const now = peer.replica;
      if (now !== r) {
        // Refuted: the answer is of the life taken back (or one between); what it still lacks is asked anew.
        queueMicrotask(() => this.s.running() && peer.replica === now && this.want(peer, now.target, 'refuted-life'));
        return this.use(peer, now, changes, true);
      }
    }
    if (changes.incarnation > r.incarnation && fromOrigin) {
      this.onNewLife(peer, changes.incarnation, changes.version, 'new-incarnation');
      return;
    }
    if (changes.incarnation !== r.incarnation)
      throw new CatchupFailure('old-life', `the answer is about incarnation ${changes.incarnation}`);
    const before = r.heldVersion();
    const result = r.applyChanges(changes);
    // A snapshot for a peer that held nothing is the normal way in; for one that held a version it is a fallback.
    if (changes.kind === 'snapshot' && before > 0) this.s.c.metrics.snapshotFallbacks.inc();
    if (result === 'gap') throw new CatchupFailure('gap', `the answer does not follow on from version ${before}`);
    // A peer that hinted a version it cannot serve is a failed request: backoff grows, not a tight loop.
    if (result === 'stale' && !fromOrigin && r.behind())
      throw new CatchupFailure('behind', `the answer stops at version ${changes.version}`);
    if (result === 'refused') {
      r.catchup = { kind: 'refused', target: r.target };
      this.s.bounds.hit('devices-held', {
        agent: peer.name,
        devices: changes.kind === 'snapshot' && changes.entries.length,
      });
      return;
    }
    if (result === 'applied') this.s.hints.note(peer.name, r.incarnation, r.heldVersion(), before > 0);
    if (result === 'applied') noteFirstCopy(this.s, r, before, fromOrigin ? 'catch-up' : 'alternate');
    if (result === 'applied' && !fromOrigin && !peer.verified) this.hooks.heldSecondHand(peer);
    // The origin is authoritative: what it holds now is the target, even below a hint we were given.
    if (fromOrigin) {
      r.target = changes.version;
      if (!peer.verified) queueMicrotask(() => this.s.placeFreed());
      this.s.peers.verify(peer);
    }
    r.failures = 0;
  }

  /** Right away after a success that fell short (a newer version arrived meanwhile); backoff after failures. */
  private retryLater(peer: Peer, r: OriginReplica, failed: boolean): void {
    const delay = failed ? jitter(this.s.c.random, backoffMs(this.s, peer, r), 0.5) : 0;
    this.wait(peer, r, delay, () => {
      if (r.behind()) this.enqueue(peer, r);
    });
  }
}
