import type { Changes } from '../directory/directory.js';
import { PeerRequestError, type ChangesRequest, type Endpoint } from '../transport/transport.js';
import { CatchupFailure } from './catchup-failure.js';
import { SYNC_LIMITS } from './config.js';
import type { OriginReplica } from './origin-replica.js';
import type { SyncContext } from './sync-context.js';

/** What a catch-up asks of this agent's local health (Liveness.health), as its probes do. */
export interface LocalHealthHooks {
  /** A catch-up's deadline of `ms`, lengthened by this agent's late turns (LocalHealth.turnsDeadline). */
  deadline(ms: number): number;
  /** Whether a deadline of `deadlineMs` due at `due` that ran out now may have run before an answer was read. */
  lagged(due: number, deadlineMs: number): boolean;
}

/**
 * One catch-up's answer from `source`, with every page of a paged snapshot gathered (all of one version).
 * Each request's deadline is lengthened by this agent's late turns (local health): with a fixed 2 s one, a
 * process whose loop turned every 1-4 s (the latency table's 100 agents started at once in the bench process)
 * read answers its peers had served after the deadline fired, threw them away and asked again: 7,000 of 8,000
 * catch-ups failed. A timeout its own late loop explains is `lagged`, no failure of the peer's.
 */
export async function fetchChanges(
  s: SyncContext,
  source: Endpoint,
  r: OriginReplica,
  health: LocalHealthHooks,
  /** This agent's peer port, asking a member for another origin's set (a holder it may name once it served it). */
  port?: number,
): Promise<Changes> {
  const held = r.held();
  const request: ChangesRequest = { origin: r.name, since: held.version, incarnation: held.incarnation };
  if (port !== undefined) request.port = port;
  const ask = async (req: ChangesRequest) => {
    const timeout = health.deadline(s.cfg.fetchTimeoutMs);
    const at = s.c.clock.monotonic();
    try {
      return await s.c.peers.changes(source, req, timeout);
    } catch (err) {
      const timedOut = err instanceof PeerRequestError && err.reason === 'timeout';
      // Judged against the deadline the client ran: one 4x as long on a fresh connection, fired on time, was
      // taken for a loop 3x its deadline late (health at its worst, the catch-up retried at once with no backoff).
      const ran = timedOut ? (err.ranMs ?? timeout) : timeout;
      if (timedOut && health.lagged(at + ran, ran))
        throw new CatchupFailure('lagged', `${source.address}:${source.port}'s answer came after a late turn`);
      throw err;
    }
  };
  const first = await ask(request);
  if (!first) throw new CatchupFailure('nothing-held', `${source.address}:${source.port} holds nothing of ${r.name}`);
  if (first.kind === 'deltas' || first.next === undefined) return first;
  const entries = [...first.entries];
  for (let next: string | undefined = first.next, pages = 1; next !== undefined; pages++) {
    if (pages >= SYNC_LIMITS.snapshotPages) throw new CatchupFailure('too-many-pages', 'too many pages');
    const page = await ask({ ...request, after: next });
    if (page?.kind !== 'snapshot' || page.incarnation !== first.incarnation || page.version !== first.version)
      throw new CatchupFailure('moved-on', `${r.name} changed while its snapshot was paged`);
    entries.push(...page.entries);
    next = page.next;
  }
  return { kind: 'snapshot', origin: first.origin, incarnation: first.incarnation, version: first.version, entries };
}
