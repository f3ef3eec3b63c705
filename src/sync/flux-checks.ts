import { countCheck } from './check-count.js';
import type { Peer } from './peer-table.js';
import { intervalOf } from './ring.js';
import { SETTLE_PERIODS } from './settled-view.js';
import { NOTICED_INTERVALS } from './sweep.js';
import type { SyncContext } from './sync-context.js';

/**
 * The check of an agent whose crash the view votes cannot show (attack22, test/attacks/flapper-missed-crash.test.ts).
 * An agent whose liveness moved lately is left out of every settled view (settled-view.ts), a flapper's for up to
 * 8 settle times; if it crashes then, a host that missed the crash (no notice, no relay reached it) holds it alive
 * while its voters hold it lost, and both settled views leave it out: they agree, and the host waited for its
 * backstop (17.3 s at 60 agents; 5 of its intervals on a stretched site). So a voter that agrees with this agent
 * says nothing of the agents it holds alive in flux: each of those that missed a heartbeat (NOTICED_INTERVALS of
 * its intervals' silence, as after a distrusted notice) is checked first-hand, as the sweep checks, at most once
 * each SETTLE_PERIODS. A flapper that lives keeps beating, and an agent the site lost is alive in no voter's view
 * to check: on a steady site, or a flapping one, no check comes of it.
 */
export class FluxChecks {
  /** When this agent last checked each agent on this rule, kept SETTLE_PERIODS. */
  private readonly checked = new Map<string, number>();

  constructor(
    private readonly s: SyncContext,
    private readonly check: (peer: Peer) => void,
  ) {}

  /** A voter's settled view agreed with this agent's, which leaves out `inFlux`, held alive here. */
  agreed(inFlux: readonly string[]): void {
    const now = this.s.c.clock.monotonic();
    const period = this.s.cfg.livenessPeriodMs;
    for (const [name, at] of this.checked) if (now - at >= SETTLE_PERIODS * period) this.checked.delete(name);
    for (const name of inFlux) {
      const peer = this.s.peers.get(name);
      if (name === this.s.cfg.name || this.checked.has(name) || !peer?.verified) continue;
      // A heartbeat missed: silence past NOTICED_INTERVALS of its interval (its waits are 0.5-1.5 intervals).
      const beat = Math.max(intervalOf(this.s, peer) ?? 0, period);
      if (now - peer.lastHeard < NOTICED_INTERVALS * beat || now - peer.probedAt < period) continue;
      this.checked.set(name, now);
      countCheck(this.s, 'flux', peer, now);
      this.check(peer);
    }
  }
}
