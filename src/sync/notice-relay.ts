import { fnv1a32, incarnationTag, type Hint } from '../protocol/messages.js';
import type { Endpoint } from '../transport/transport.js';
import { roundEndpoint } from './endpoint-proofs.js';
import { NoticeBatch } from './notice-batch.js';
import { aliveRing, type Ring } from './ring.js';
import type { SyncContext } from './sync-context.js';

/**
 * Relayed lost notices (docs/protocol.md, *Liveness*: "Relayed notices"). A crash is told by its 2 monitors'
 * notices, each multicast twice: at 30 % loss a host misses all four 0.3⁴ of the time (~1 in 120) and held the
 * crashed agent until its backstop, minutes on a stretched site (attack17, test lossy-notices-backstop). So an
 * agent that took a loss from a notice (believed, or confirmed by its own probe) tells its ring neighbours, its
 * 2 monitors and 2 subjects, once each by unicast: a host that missed every multicast copy hears it from up to
 * 4 neighbours (all lost 0.3⁴ again), and probes the named agent itself (lost-notices.ts): a relay is second-hand
 * word, never believed alone. Each agent relays a life's loss at most once (it relays only while it held that
 * life alive), so a crash costs each agent 4 unicast datagrams sent and about as many received, only then.
 * Memberlist gossips a dead message on from every member that learns it; here one hop per holder.
 */
export class NoticeRelay {
  private readonly batch: NoticeBatch;

  constructor(
    private readonly s: SyncContext,
    /** Unicasts one notice naming `hints` to `to`. */
    send: (hints: Hint[], to: Endpoint) => void,
  ) {
    this.batch = new NoticeBatch(
      s.c.clock,
      s.cfg.livenessPeriodMs,
      (hints) => {
        if (s.running()) for (const to of this.neighbours()) send(hints, to);
      },
      1,
    );
  }

  /** Relays the loss of `name` in that life (batched as notices are, at most one relay a period). */
  relay(name: string, incarnation: number, version: number): void {
    this.batch.add({ nameHash: fnv1a32(name), incarnationTag: incarnationTag(incarnation), version });
  }

  stop(): void {
    this.batch.stop();
  }

  /** Where this agent's rounds reach its monitors, and its subjects (the ring's two ways). */
  private neighbours(): Endpoint[] {
    const ring = aliveRing(this.s);
    const monitors = ring.monitorsOf(this.s.cfg.name).flatMap((name) => this.s.peers.get(name) ?? []);
    return [...monitors.flatMap((p) => roundEndpoint(p) ?? []), ...subjectEndpoints(this.s, ring)];
  }
}

/** The endpoints of this agent's subjects that a round reaches (roundEndpoint), monitors excluded (a small ring). */
export function subjectEndpoints(s: SyncContext, ring: Ring): Endpoint[] {
  const monitors = ring.monitorsOf(s.cfg.name);
  return ring
    .subjectsOf(s.cfg.name)
    .filter((name) => !monitors.includes(name))
    .flatMap((name) => s.peers.get(name) ?? [])
    .flatMap((p) => roundEndpoint(p) ?? []);
}

/** Whether `a` and `b` are neighbours on the ring: one watches the other. A relay is heard only from them. */
export function ringNeighbours(ring: Ring, a: string, b: string): boolean {
  return ring.watches(a, b) || ring.watches(b, a);
}
