import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/** How long a notice sent on a helper's verdict stands for this agent's repeats of it, in liveness periods. */
const TOLD_FOR_PERIODS = 10;

/**
 * When this agent told the site of each subject on a helper's verdict (indirect-checks.ts), kept TOLD_FOR_PERIODS:
 * its own later confirmation, or another monitor's notice, is not repeated (each repeat is a multicast heard by the
 * whole site).
 */
export class ToldIndirectly {
  private readonly at = new Map<string, number>();

  constructor(private readonly s: SyncContext) {}

  /** This agent told the site of the subject now, on a helper's verdict. */
  told(peer: Peer): void {
    this.at.set(peer.name, this.s.c.clock.monotonic());
  }

  /** Whether this agent told the site of the subject on a helper's verdict lately. */
  lately(peer: Peer): boolean {
    const now = this.s.c.clock.monotonic();
    for (const [name, at] of this.at)
      if (now - at >= TOLD_FOR_PERIODS * this.s.cfg.livenessPeriodMs) this.at.delete(name);
    return this.at.has(peer.name);
  }
}
