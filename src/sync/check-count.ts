import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * Why the sweep asked a peer: its monitor's silence rule, a non-monitor's backstop (or its shorter one after a
 * distrusted notice), the one-period rule of a small site, the first probe of a peer held second-hand, or a
 * lost one asked again (`recheck`: a loss on timeouts alone, lost-rechecks.ts). A view exchange's are `exchange`;
 * `flux`, an agent in flux in the settled view that missed a heartbeat while a voter agreed (flux-checks.ts).
 */
export type CheckRule =
  'monitor' | 'backstop' | 'noticed' | 'period' | 'verify' | 'reprobe' | 'recheck' | 'exchange' | 'flux';

/** Which rule asked the peer, and how long it had been silent (herald_liveness_checks_total). */
export function countCheck(s: SyncContext, rule: CheckRule, peer: Peer, now: number): void {
  s.c.metrics.livenessChecks.inc({ rule });
  s.c.metrics.livenessCheckSilence.inc({ rule }, Math.max(0, now - peer.lastHeard) / 1000);
}
