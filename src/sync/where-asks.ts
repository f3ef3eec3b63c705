import { TokenBuckets } from '../util/token-bucket.js';
import type { Peer } from './peer-table.js';
import { aliveRing, intervalOf, MONITORS } from './ring.js';
import type { Learn } from './summary-asks.js';
import type { SyncContext } from './sync-context.js';

/** Where-asks this agent makes, at most, a liveness period on average (each to at most MONITORS monitors). */
export const WHERE_ASKS_PER_PERIOD = 1;

/** Where-asks it may make at once, after a quiet while (a heal's exchange checks up to 8 peers). */
export const WHERE_ASK_BURST = 2 * MONITORS;

/**
 * Where a stretched peer is, asked of its monitors once a check's probe at its endpoint went unanswered
 * (docs/protocol.md, "An agent that moves in the same life"). A peer that moved in the same life is followed by its
 * monitors at once (its unicast rounds come from the new address, beat.ts) but by every other agent only at its next
 * multicast, up to 1.5 of its intervals later (26 s at 109 agents). A check meanwhile (a view exchange's, a flux
 * check, a backstop that heard none of its multicasts) had only the old endpoint: two probes there went unanswered
 * and a live agent was lost (swarm seed 657, `--host-faults --max-agents 200`: agent-84, by a view exchange). So an
 * agent that is not its monitor asks the monitors on its ring for the peer's summary entry alone (`where=NAME`, a
 * hello): another endpoint named there is probed, `busy` behind the check and so asked before the verdict
 * (Peer.elsewhere, endpoint-proofs.ts), believed only on an answer there as the peer, as any summary's news. A crashed
 * or vanished peer costs its monitors one small answer each per non-monitor's check that timed out, bounded by each
 * asker's budget; its monitors' own checks ask nothing (a late one's would add 2 hellos: sync-late-silence).
 */
export class WhereAsks {
  private readonly budget: TokenBuckets;

  constructor(
    private readonly s: SyncContext,
    private readonly learn: Learn,
  ) {
    this.budget = new TokenBuckets(
      s.c.clock,
      (WHERE_ASKS_PER_PERIOD * 1000) / s.cfg.livenessPeriodMs,
      WHERE_ASK_BURST,
      1,
    );
  }

  /** A probe of the peer at its endpoint went unanswered during a check: its monitors are asked where it is. */
  ask(peer: Peer): void {
    // On a small site every agent hears each of its heartbeats a period apart: a move's first asks for the probe.
    if ((intervalOf(this.s, peer) ?? 0) <= this.s.cfg.livenessPeriodMs) return;
    const ring = aliveRing(this.s);
    // Its monitor hears its rounds each period, from a new address too (beat.ts): it knows as much as the other.
    if (ring.watches(this.s.cfg.name, peer.name)) return;
    const monitors = ring
      .monitorsOf(peer.name)
      .flatMap((name) => this.s.peers.get(name) ?? [])
      .filter((p) => p.verified && this.s.c.directory.held(p.name)?.state === 'alive');
    if (monitors.length === 0 || !this.budget.take('where')) return;
    for (const monitor of monitors) {
      const asker = { ...this.s.self, where: peer.name };
      void this.s.c.peers.hello(monitor.endpoint, this.s.cfg.livenessPeriodMs, false, asker).then(
        (hello) => {
          const entry = (hello.peers ?? []).filter((e) => e.name === peer.name);
          if (this.s.running() && hello.name === monitor.name && entry.length > 0) this.learn(entry, monitor.name);
        },
        () => {},
      );
    }
  }
}
