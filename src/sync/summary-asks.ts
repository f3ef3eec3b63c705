import type { PeerSummary } from '../transport/transport.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/** What a summary's news is handed to: second-hand, so at most a reason to ask the agents it names. */
export type Learn = (summaries: readonly PeerSummary[], from?: string) => void;

/** A peer's summary: `shared` if it was already asked (another rule's request, its news learnt there). */
export interface SummaryAnswer {
  peers: readonly PeerSummary[] | undefined;
  shared: boolean;
}

/**
 * Nothing listens where `gone` was: if it restarted elsewhere, the others may know where. One alive
 * peer is asked for its summary, whose news of `gone` is then checked first-hand (learn). A summary already
 * out to one of them says as much: a thawed host asked one peer's summary twice in the same millisecond, once
 * here (a peer that moved while it slept refused at its old address) and once for its cut-off's exchange (swarm
 * seed 41000025 with host faults, `thaw-storm`).
 */
export function askAround(s: SyncContext, gone: Peer, learn: Learn): void {
  if (summariesOut(s).some((p) => p !== gone)) return;
  const alive = [...s.peers.values()].filter((p) => p !== gone && p.verified && heldAlive(s, p));
  if (alive.length > 0) askSummary(s, alive[Math.floor(s.c.random() * alive.length)], learn);
}

/** The peers held alive and verified whose summary is asked and not yet answered (a rejoin exchange's, askAround's). */
export function summariesOut(s: SyncContext): Peer[] {
  return [...s.peers.values()].filter((p) => p.summaryAsked !== undefined && p.verified && heldAlive(s, p));
}

const heldAlive = (s: SyncContext, p: Peer) => s.c.directory.held(p.name)?.state === 'alive';

/** A hello that asks for the summary, outside the probes (it refreshes nothing: only learn). */
export function askSummary(s: SyncContext, other: Peer, learn: Learn): void {
  void summaryOf(s, other).then(({ peers, shared }) => {
    if (shared || !s.running()) return;
    if (peers === undefined) s.c.metrics.livenessProbes.inc({ result: 'failed' });
    else learn(peers, other.name);
  });
}

/**
 * The peer's summary (a hello that asks for it; undefined if it did not answer as itself), one request at a
 * time: asked again while one is out, the answer on its way is shared, and its news is learnt by the first asker.
 */
export function summaryOf(s: SyncContext, other: Peer): Promise<SummaryAnswer> {
  const out = other.summaryAsked;
  if (out !== undefined) return out.then((peers) => ({ peers, shared: true }));
  const asked = s.c.peers.hello(other.endpoint, s.cfg.livenessPeriodMs, true, s.self).then(
    (hello) => (hello.name === other.name ? (hello.peers ?? []) : undefined),
    () => undefined,
  );
  other.summaryAsked = asked;
  void asked.then(() => {
    if (other.summaryAsked === asked) other.summaryAsked = undefined;
  });
  return asked.then((peers) => ({ peers, shared: false }));
}
