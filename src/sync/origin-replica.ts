import type { Delta } from '../directory/delta.js';
import type { ApplyResult, Changes, Directory } from '../directory/directory.js';
import type { Endpoint } from '../transport/transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Alternate } from './catchup-source.js';
import { ReorderBuffer } from './reorder-buffer.js';

/**
 * Where the catch-up of one life stands: one state, so that "fetching and also queued and also waiting
 * for a retry" cannot happen. `refused`: what it would hold passes a bound; not retried in this life. `from`: the
 * origin's endpoint a fetch asks (none when it asks a member that named a newer version), `at` when.
 */
export type CatchupState =
  | { kind: 'idle' }
  | { kind: 'waiting'; timer: TimerHandle }
  | { kind: 'queued' }
  | { kind: 'fetching'; from?: Endpoint; at?: number }
  | { kind: 'refused'; target: number };

/**
 * A fetch whose origin just answered a probe at the endpoint it asks has waited past its own deadline and every
 * stall of this agent's loop since it was asked (`at`): only a deadline stretched by an earlier stall (a freeze's
 * leftover health) holds it, and its answer is not coming (asked through a cut that healed since: swarm seed
 * 29000905 with host faults). It is let go and asked again, as one at an endpoint the origin left.
 */
export function outlived(
  asking: { from?: Endpoint; at?: number },
  s: { c: { clock: Clock }; cfg: { fetchTimeoutMs: number } },
  health: { stallSince(since: number): number },
): boolean {
  if (asking.from === undefined || asking.at === undefined) return false;
  return s.c.clock.monotonic() - asking.at > s.cfg.fetchTimeoutMs + health.stallSince(asking.at);
}

/**
 * One life (incarnation) of one origin, as this agent replicates it: the only writer of that origin's
 * entry in the directory, with its sync state (target version, reorder buffer, goodbye mark, catch-up
 * state, retry count, alternates). A new incarnation replaces the whole object, so nothing of an old
 * life (a buffered delta, a goodbye, a pending retry) can ever apply to a new one.
 */
export class OriginReplica {
  /** The newest version of this life known to exist; catch-up runs until the directory holds it. */
  target = 0;
  readonly buffer = new ReorderBuffer();
  /** This life said goodbye: nothing more of it is applied or fetched. */
  left = false;
  /** When it did (monotonic ms). */
  leftAt = 0;
  catchup: CatchupState = { kind: 'idle' };
  failures = 0;
  /** When the current run of failed catch-up requests began (monotonic ms). */
  failingSince = 0;
  /** The origin was heard while its last failed request was out: there, its loop late. */
  heardWhenFailing = false;
  /** When a member's datagram last named a version of this life (a hint): the origin is real, still heard. */
  namedAt = Number.NEGATIVE_INFINITY;
  /** Peers that said (by a hint) they hold a newer version: asked when the origin does not answer. */
  alternates: Alternate[] = [];
  /** When this agent first knew of this life (monotonic ms): the start of its wait for the set (first-copies.ts). */
  readonly heardAt: number;
  /** Alternates whose catch-up failed in this run of failed requests (`host:port`): ranked last. */
  failedAlternates: string[] = [];
  /**
   * Set while this life is provisional (ProvisionalLives): the life it replaced, kept whole to go back to.
   * Nothing of a provisional life is written to the directory until its endpoint confirms it.
   */
  previous: OriginReplica | undefined;

  constructor(
    private readonly directory: Directory,
    private readonly clock: Clock,
    readonly name: string,
    readonly incarnation: number,
  ) {
    this.heardAt = clock.monotonic();
  }

  /** What the directory holds of this origin (possibly still the life before this one). */
  held(): { incarnation: number; version: number; state: string } {
    return this.directory.held(this.name) ?? { incarnation: 0, version: 0, state: 'alive' };
  }

  /** The version of this life the directory holds; 0 while it still holds an older life, or nothing. */
  heldVersion(): number {
    return this.directory.heldVersion(this.name, this.incarnation);
  }

  /** Whether the directory holds less of this life than is known to exist. */
  behind(): boolean {
    if (this.left) return false;
    const held = this.held();
    return held.incarnation < this.incarnation || held.version < this.target;
  }

  know(version: number): void {
    if (version > this.target) this.target = version;
  }

  /** An announced delta: applied if it follows on, buffered if it is ahead of a missing one. */
  apply(delta: Delta, graceMs: number): ApplyResult {
    this.know(delta.version);
    // A provisional life writes nothing: the catch-up a gap starts asks its endpoint, which settles it first.
    if (this.previous) return 'gap';
    const result = this.directory.applyDeltas(this.name, this.incarnation, [delta]);
    if (result === 'applied') this.drain();
    else if (result === 'gap') this.buffer.hold(delta, this.clock.monotonic(), graceMs);
    return result;
  }

  /** A catch-up answer, which must be about this life. */
  applyChanges(changes: Changes): ApplyResult {
    const result =
      changes.kind === 'deltas'
        ? this.directory.applyDeltas(this.name, this.incarnation, changes.deltas)
        : this.directory.applySnapshot(this.name, this.incarnation, changes.version, changes.entries);
    this.drain();
    return result;
  }

  /** Applies buffered deltas that now follow on from the held version. */
  drain(): void {
    let held = this.held();
    if (held.incarnation !== this.incarnation) return;
    for (let next = this.buffer.take(held.version + 1); next; next = this.buffer.take(held.version + 1)) {
      if (this.directory.applyDeltas(this.name, this.incarnation, [next]) !== 'applied') break;
      held = this.held();
    }
    this.buffer.prune(held.version);
  }

  /** This life said goodbye. False if it had already. */
  goodbye(): boolean {
    if (this.left) return false;
    this.left = true;
    this.leftAt = this.clock.monotonic();
    this.retire();
    this.directory.markLeft(this.name);
    return true;
  }

  /** Stops whatever this life had pending: it is over, or replaced by a newer one. */
  retire(): void {
    if (this.catchup.kind === 'waiting') this.clock.clearTimeout(this.catchup.timer);
    if (this.catchup.kind !== 'fetching') this.catchup = { kind: 'idle' };
  }
}
