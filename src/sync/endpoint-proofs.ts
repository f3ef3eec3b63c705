import type { Asker, Endpoint } from '../transport/transport.js';
import { TokenBuckets } from '../util/token-bucket.js';
import type { ProbeOutcome } from './liveness-hooks.js';
import type { Peer } from './peer-table.js';
import { MONITORS } from './ring.js';
import type { SyncContext } from './sync-context.js';

/** One monitor's endpoint is asked for at most once in this many liveness periods (again after a lost answer). */
export const PROOF_EVERY_PERIODS = 16;

/** Endpoint proofs this agent asks, at most, a liveness period on average (MONITORS at once): whatever the churn. */
export const PROOFS_PER_PERIOD = 1;

/** The probe signal of a proof (Liveness.probe; the catch-up it may start counts its gap under it). */
export const PROOF_SIGNAL = 'endpoint';

/** Monitors remembered as asked lately: far more than an agent has (MONITORS), so a churning ring is bounded too. */
const ASKED_KEPT = 64;

/**
 * Where this agent's unicast rounds go (docs/protocol.md, "Scale", "Endpoint proofs"). A round goes to a
 * monitor's datagram endpoint: where its datagrams were heard from or, for a monitor never heard (a restarted
 * agent learns its peers from summaries, and on a stretched site a monitor multicasts minutes apart), where
 * the monitor's own answer said they leave from: a liveness probe at its peer endpoint that asked for it
 * (Hello.datagramPort), over a connection to that address, signed on a keyed site. A summary's word is never
 * enough: a forged one would aim every reader's rounds at a host of its choosing. The probe goes only to a
 * member's peer endpoint (verified, held alive: one this agent already sends catch-ups to), only for its
 * current monitors lacking an endpoint, only while rounds are due (a stretched site), each at most once in
 * PROOF_EVERY_PERIODS, and at most PROOFS_PER_PERIOD a period in all (MONITORS at once).
 */
export class EndpointProofs {
  /** When each monitor's endpoint was last asked for, oldest first. */
  private readonly asked = new Map<string, number>();
  private readonly budget: TokenBuckets;

  constructor(
    private readonly s: SyncContext,
    /** A liveness probe of the peer at its peer endpoint that asks for its datagram port (signal `endpoint`). */
    private readonly probe: (peer: Peer) => Promise<ProbeOutcome>,
  ) {
    this.budget = new TokenBuckets(s.c.clock, (PROOFS_PER_PERIOD * 1000) / s.cfg.livenessPeriodMs, MONITORS, 1);
  }

  /** Whether a round reaches this monitor now (roundEndpoint); if not, its endpoint is asked for (bounded). */
  reaches(peer: Peer): boolean {
    if (roundEndpoint(peer)) return true;
    this.ask(peer);
    return false;
  }

  private ask(peer: Peer): void {
    const now = this.s.c.clock.monotonic();
    const at = this.asked.get(peer.name);
    if (at !== undefined && now - at < PROOF_EVERY_PERIODS * this.s.cfg.livenessPeriodMs) return;
    if (!this.budget.take('proof')) return;
    this.asked.delete(peer.name); // re-inserted: the map's order is the age of its last ask
    this.asked.set(peer.name, now);
    const oldest = this.asked.keys().next();
    if (this.asked.size > ASKED_KEPT && !oldest.done) this.asked.delete(oldest.value);
    this.s.c.metrics.endpointProofs.inc();
    void this.probe(peer).then((outcome) => {
      // Another probe of it was under way, and did not ask: this one may be asked again at the next round.
      if (outcome === 'busy' && this.asked.get(peer.name) === now) this.asked.delete(peer.name);
    });
  }
}

/**
 * Who this agent says it is on a probe of `peer` with this signal: a proof asks for the datagram endpoint too, the
 * check of a set held second-hand from a bulk answer, and any probe while that set is unchecked (Peer.setToCheck), for
 * the digest of the peer's own set (bulk-sets.ts). A probe of
 * a peer held lost says so (Asker.lost): an answer is its return, which it then multicasts (lost-rechecks.ts).
 */
export function askerOf(s: SyncContext, peer: Peer, signal: string): Asker {
  const lost = s.c.directory.held(peer.name)?.state === 'lost';
  const self = lost ? { ...s.self, lost: peer.replica.incarnation } : s.self;
  if (signal === BULK_SIGNAL || peer.setToCheck === peer.replica.incarnation) return { ...self, set: true };
  return signal === PROOF_SIGNAL ? { ...self, datagram: true } : self;
}

/** The signal of the probe that checks a set taken from a bulk answer at its origin. */
export const BULK_SIGNAL = 'bulk';

/** Where a unicast datagram reaches the peer: heard from it, else named by its own answer; never a summary's. */
export function roundEndpoint(peer: Peer): Endpoint | undefined {
  return peer.datagram ?? peer.answeredDatagram;
}

/**
 * Another endpoint answered as the peer: it moved (a new address or port). The datagram endpoints of the old
 * address go: kept, rounds went on to an address no host holds, and a keyed site dropped its beats from the
 * new one (attack14, test sync-move). The answer that confirmed the move names the new (hooks.heardFrom).
 */
export function moveTo(s: SyncContext, peer: Peer, endpoint: Endpoint): void {
  s.c.logger.info({ agent: peer.name, from: peer.endpoint, to: endpoint }, 'agent moved');
  peer.endpoint = endpoint;
  peer.claimKey = `${endpoint.address}:${endpoint.port}`;
  forgetEndpoints(peer);
}

/**
 * Where the peer's datagrams were heard from or its answer said they leave from, and another endpoint a probe of it
 * was asked at (Peer.elsewhere): stale after a move (the old address's) or a new life (the old process's socket,
 * and a roaming hint about the old process). Kept after a new life, every round went to the dead port and its
 * beats were dropped as from no known sender (attack13, test sync-ring-monitor-new-port); the new life's first
 * datagram or its answer names them again.
 */
export function forgetEndpoints(peer: Peer): void {
  [peer.datagram, peer.answeredDatagram, peer.elsewhere] = [undefined, undefined, undefined];
}

/**
 * Another endpoint a probe of the peer was asked at while one was under way (Peer.elsewhere), taken once: a check
 * about to lose the peer asks there first. A host that roamed (unreachable a few seconds, back at a new address in
 * the same life) had its beats from the new address dropped as `busy` behind its monitors' check at the old one,
 * which then lost it and told the site (attack15, test roam-during-check).
 */
export function takeElsewhere(peer: Peer): Endpoint | undefined {
  const at = peer.elsewhere;
  peer.elsewhere = undefined;
  return at;
}

/**
 * Whether the peer answered at that other endpoint. Asked after a check's first unanswered probe too, not only
 * before a loss: with a late loop's stretched deadlines the two probes of the old address ran 21 s while the
 * moved peer's heartbeats from its new one were dropped as `busy`, and its changes never came (swarm seed 475).
 */
export async function answeredElsewhere(
  peer: Peer,
  probe: (peer: Peer, at: Endpoint) => Promise<ProbeOutcome>,
): Promise<boolean> {
  const at = takeElsewhere(peer);
  return at !== undefined && (await probe(peer, at)) === 'alive';
}

/** Outcomes of a probe that say where the peer is (or that asking elsewhere is not this probe's to do). */
const SETTLED_OUTCOMES: ReadonlySet<ProbeOutcome> = new Set(['alive', 'heard', 'stale', 'busy']);

/**
 * A probe at the endpoint (the sweep's: a lost peer rechecked, an unverified one verified), then, if it went
 * unanswered, at the endpoint the peer was heard from meanwhile (Peer.elsewhere). A check asks there before a loss;
 * the sweep's probes of a peer already lost asked nowhere else: a host frozen 55 s resumed rechecking a lost peer's
 * old address back to back (8 s deadlines its late loop stretched), the peer's heartbeats from its new address
 * dropped as `busy` behind them, and held it lost while it ran (swarm seed 31000515 with host faults).
 */
export async function probedOrElsewhere(
  peer: Peer,
  endpoint: Endpoint,
  probe: (peer: Peer, at: Endpoint) => Promise<ProbeOutcome>,
): Promise<void> {
  const outcome = await probe(peer, endpoint);
  if (!SETTLED_OUTCOMES.has(outcome)) await answeredElsewhere(peer, probe);
}
