import { MAX_HEALTH_MULTIPLIER } from '../../src/sync/local-health.js';
import type { Violation } from './invariants.js';
import { heardMoveAt } from './moves.js';
import type { DiscoveryMode, Scenario } from './scenario.js';

/** Above this share of lost datagrams an agent may rightly be called lost (issue 12's liveness bound). */
const LOSS_BOUND = 0.6;
/** Lost after 3.5 silent liveness periods; the sweep runs twice a period, so allow one more. */
const LOST_AFTER_PERIODS = 4.5;
/** With mDNS alone liveness is judged over ten heartbeat periods (src/agent/agent.ts). */
const MDNS_LIVENESS_FACTOR = 10;
/**
 * A lagging viewer's two probes take up to (1 + 2) × 8 periods (local health): the one that lost a peer may
 * have been sent that long ago, into a partition since healed (a simulated request to a cut peer fails at
 * its deadline however long, where TCP would have retried its SYN). Its lag is remembered 10 periods.
 */
const STRETCHED_PERIODS = 3 * (MAX_HEALTH_MULTIPLIER - 1);
const LAG_MEMORY_PERIODS = 10;
/** A check's two probes of a moved agent's old address: 1 + 2 periods (Liveness.checkOnce). */
const MOVE_CHECK_PERIODS = 3;

/**
 * Judges each `lost` a running agent reports about another running agent: wrong unless, within the
 * window liveness is judged over, the pair was cut off, the viewer lost 60 % or more of its datagrams,
 * requests to the origin were failing, or the origin had just (re)started.
 */
export class LivenessJudge {
  private readonly since = new Map<string, number>();
  /** When each agent last moved to a new address (moves.ts): unreachable at the old until its peers follow. */
  private readonly movedAt = new Map<string, number>();

  constructor(private readonly scenario: Scenario) {}

  started(name: string, at: number): void {
    this.since.set(name, at);
  }

  stopped(name: string): void {
    this.since.delete(name);
  }

  moved(name: string, at: number): void {
    this.movedAt.set(name, at);
  }

  /**
   * A viewer frozen longer than the window above knows the site as it was when it froze. An origin that restarted
   * meanwhile is rightly lost at its old life's endpoint on the thaw, until the new life's datagrams reach the
   * viewer; world.ts `ended` excuses that by incarnation, but a life held by name only (incarnation 0, its
   * catch-up not answered before the freeze) has none to compare (seed 16160147 --host-faults: frozen 42 s, its
   * first probe refused at the address where the life it held had crashed, the new one elsewhere).
   */
  private frozenSince(viewer: string, at: number, period: number): number {
    let since = Infinity;
    for (const f of this.scenario.faults) {
      const thawed =
        f.kind === 'freeze' && f.to === viewer && f.at <= at && f.until + LOST_AFTER_PERIODS * period >= at;
      if (thawed) since = Math.min(since, f.at - LOST_AFTER_PERIODS * period);
    }
    return since;
  }

  wrongLoss(viewer: string, origin: string, at: number, mode: DiscoveryMode): Violation | undefined {
    const period = this.scenario.heartbeatMs * (mode === 'mdns' ? MDNS_LIVENESS_FACTOR : 1);
    const lagged = this.scenario.faults.some(
      (f) =>
        (f.kind === 'lag' || f.kind === 'freeze') &&
        f.to === viewer &&
        f.at <= at &&
        f.until + (LAG_MEMORY_PERIODS + STRETCHED_PERIODS) * period >= at,
    );
    const from = Math.min(
      at - (LOST_AFTER_PERIODS + (lagged ? STRETCHED_PERIODS : 0)) * period,
      this.frozenSince(viewer, at, period),
    );
    const up = this.since.get(origin);
    if (up === undefined || up > from || (this.since.get(viewer) ?? at) > from) return undefined;
    // One check of the old address after the move: a viewer that heard none of its datagrams from the new one
    // (loss under 60 %) loses it there, its probe of the new address `busy` behind that check (attack14, doubt);
    // for a viewer deaf to multicast when it moved, one check after it hears again (moves.ts heardMoveAt).
    const moved = heardMoveAt(this.scenario.faults, viewer, this.movedAt.get(origin));
    if (moved > from - MOVE_CHECK_PERIODS * period) return undefined;
    // A storm's late loops and late answers may lose live peers while it lasts; not once it is over.
    const calm = (LAG_MEMORY_PERIODS + STRETCHED_PERIODS) * period;
    const overloaded = this.scenario.faults.some(
      (f) =>
        f.kind === 'storm' && f.at <= at && f.until + calm >= at && [viewer, origin].some((n) => f.agents.includes(n)),
    );
    if (overloaded) return undefined;
    const excused = this.scenario.faults.some((f) => {
      if (!('until' in f) || f.until < from || f.at > at) return false;
      switch (f.kind) {
        case 'link':
          return f.to === viewer && f.loss >= LOSS_BOUND;
        case 'partition':
          return f.side.includes(viewer) !== f.side.includes(origin);
        case 'cut':
          return (f.from === viewer && f.to === origin) || (f.from === origin && f.to === viewer);
        case 'rpc':
          return f.to === origin;
        case 'freeze': // a frozen host answers nothing: lost rightly, and its checks of others run late after it
          return f.to === origin;
        default:
          return false;
      }
    });
    if (excused) return undefined;
    return {
      kind: 'liveness',
      at,
      viewer,
      origin,
      detail: `${viewer} reported ${origin} lost though it ran, loss stayed under 60 % and TCP worked`,
    };
  }
}
