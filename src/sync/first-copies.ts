import type { OriginReplica } from './origin-replica.js';
import type { SyncContext } from './sync-context.js';

/** What brought an origin's life in first: the join's member, a second member, a catch-up, or its announcement. */
export type FirstCopyPath = 'bulk' | 'second' | 'catch-up' | 'alternate' | 'announcement';

/** Seconds after this agent first knew of the life (OriginReplica.heardAt) the `within` label rounds up to. */
const WITHIN_S = [0.5, 1, 2, 4, 8, 16];

/**
 * A life held nothing of until this answer or delta (`before` 0): counted by the path that brought it and how long
 * after this agent first knew of it (`herald_first_copies_total`). A cold start's tail is pairs (viewer, origin) held
 * late; the curve says when, this says by which path and after how long a wait (s23-cold: where a 100-agent real
 * cold start's 20 s go). Not from the origin's start: an incarnation is a start time only by convention (the bench
 * numbers its lives), and another host's clock is not this one's; the time before the life is heard is the curve's.
 */
export function noteFirstCopy(s: SyncContext, r: OriginReplica, before: number, path: FirstCopyPath): void {
  if (before > 0 || r.heldVersion() === 0) return;
  const after = (s.c.clock.monotonic() - r.heardAt) / 1000;
  const within = WITHIN_S.find((w) => after <= w);
  s.c.metrics.firstCopies.inc({ path, within: within === undefined ? '+Inf' : String(within) });
}
