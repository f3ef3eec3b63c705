import type { Endpoint } from '../transport/transport.js';
import { TokenBuckets } from '../util/token-bucket.js';
import type { ProbeOutcome } from './liveness-hooks.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/** Move probes an open site's agent sends, at most, a second in all: as for second-hand names (docs/security.md). */
export const MOVE_PROBES_PER_SECOND = 5;

/** Move probes it may send at once, after a quiet while. */
export const MOVE_PROBE_BURST = 20;

/**
 * A known agent's current life heard from another endpoint (a heartbeat, or a beat at one of its monitors): asked
 * there, and believed to have moved only if that endpoint answers as it (Liveness.probe, endpoint-proofs.ts moveTo).
 * On an open site such a datagram is anyone's, its source address too (any on-link host): one forged heartbeat per
 * name every 300 ms drew 6,960 probes in 10 s from 30 agents to an address of the forger's choosing, one per name
 * each time a probe settled (attack15, test/attacks/reflected-probes.test.ts). So there they are bounded as
 * second-hand names are: MOVE_PROBES_PER_SECOND in all (burst MOVE_PROBE_BURST). A probe of the peer under way
 * takes no token: none is sent, its check asks the endpoint before a loss (Peer.elsewhere). Keyed sites are not
 * bounded: a signed datagram is a member's, and a captured one replayed is dropped as a replay before this.
 */
export class MoveProbes {
  private readonly budget: TokenBuckets;

  constructor(
    private readonly s: SyncContext,
    private readonly keyed: boolean,
    private readonly probe: (peer: Peer, at: Endpoint, signal?: string) => Promise<ProbeOutcome>,
  ) {
    this.budget = new TokenBuckets(s.c.clock, MOVE_PROBES_PER_SECOND, MOVE_PROBE_BURST, 1);
  }

  /** The peer was heard from `at`, not its endpoint: a probe there (bounded on an open site). */
  ask(peer: Peer, at: Endpoint, signal?: string): void {
    if (!this.keyed && !peer.probing && !this.budget.take('move'))
      return this.s.bounds.hit('move-probes', { agent: peer.name, at: at.address });
    void this.probe(peer, at, signal);
  }
}
