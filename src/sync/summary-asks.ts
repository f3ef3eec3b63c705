import type { PeerSummary } from '../transport/transport.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/** What a summary's news is handed to: second-hand, so at most a reason to ask the agents it names. */
export type Learn = (summaries: readonly PeerSummary[], from?: string) => void;

/**
 * Nothing listens where `gone` was: if it restarted elsewhere, the others may know where. One alive
 * peer is asked for its summary, whose news of `gone` is then checked first-hand (learn).
 */
export function askAround(s: SyncContext, gone: Peer, learn: Learn): void {
  const alive = [...s.peers.values()].filter(
    (p) => p !== gone && p.verified && s.c.directory.held(p.name)?.state === 'alive',
  );
  if (alive.length > 0) askSummary(s, alive[Math.floor(s.c.random() * alive.length)], learn);
}

/** A hello that asks for the summary, outside the probes (it refreshes nothing: only learn). */
export function askSummary(s: SyncContext, other: Peer, learn: Learn): void {
  s.c.peers.hello(other.endpoint, s.cfg.livenessPeriodMs, true, s.self).then(
    (hello) => {
      if (s.running() && hello.name === other.name) learn(hello.peers ?? [], hello.name);
    },
    () => s.c.metrics.livenessProbes.inc({ result: 'failed' }),
  );
}
