import type { Endpoint } from '../transport/transport.js';
import { sameEndpoint, type Peer } from './peer-table.js';
import { FluxChecks } from './flux-checks.js';
import { SettledView } from './settled-view.js';
import type { SyncContext } from './sync-context.js';
import { neighbourDigest, viewDigest } from './view-digest.js';

/** Distinct senders whose heartbeats named one view unlike this agent's: two that agree with each other. */
export const VOTERS = 2;

/**
 * Liveness periods this agent's own view must have stayed as it is before the site's votes count: a crash
 * noticed a turn apart, or a notice lost and repaired by its relays and hints, is no reason for a summary.
 */
export const STEADY_PERIODS = 5;

/** The first spacing between exchanges the votes make, in periods; doubled while they keep coming, to the last. */
export const VOTE_SPACING_PERIODS = [10, 20, 40, 80, 120];

/** Distinct digests tallied at once: a forger's stream of made-up digests fills no memory. */
const TALLIED = 8;

/** Ring neighbours whose digest is compared before a vote's summary is asked: one may be out of step too. */
const VOTE_COMPARES = 2;

/**
 * The site's view, as its heartbeats say it (issue 18, the 200-agent cold start's last pair). On a stretched
 * site each multicast heartbeat names the digest of its sender's settled view (settled-view.ts: agents whose liveness
 * moved lately left out, so one flapping link does not keep every view moving; view-digest.ts, 4 bytes). An agent whose
 * own view stayed unlike one that two others name (VOTERS) for STEADY_PERIODS is the one out of step: a summary of
 * the site was asked of a peer that did not hold an agent yet (the cold start's join), and nothing else tells it
 * of that agent before its multicast heartbeat, 80 s away at 200 agents (the bench's viewer 130 learnt agent-104
 * 70 s late). It makes the rejoin exchange with the last voter: its summary (what it lacks is learnt) and the
 * agents it holds alive that the voter does not are checked first-hand (rejoin.ts compare), as memberlist's
 * periodic push/pull would, but only when the views differ (Scuttlebutt's digest first). Exchanges are spaced,
 * the spacing doubling while they keep coming (a lasting split of the site, two camps each voting against the
 * other, costs one summary each 2 minutes an agent), and back to the first after a quiet spacing.
 */
export class ViewVotes {
  /** What this agent's heartbeats name: its view, leaving out the agents whose liveness is in flux. */
  private readonly settled: SettledView;
  /** The agents that view leaves out, checked when one falls silent while a voter agrees (a crash no vote shows). */
  private readonly flux: FluxChecks;
  private mine: number | undefined;
  /** This agent's view without itself: that of peers holding it lost (its refutation mends it, not a summary). */
  private mineLost = 0;
  /** When this agent's view took its current digest. */
  private since = 0;
  /** Digests unlike this agent's, by the peers that named them since its view took its digest. */
  private readonly tally = new Map<number, Set<string>>();
  private lastExchange = -Infinity;
  private spacing = 0;

  constructor(
    private readonly s: SyncContext,
    private readonly h: {
      /** This agent's ring neighbours it holds alive and verified, freshest heard first. */
      neighbours(): Peer[];
      /** The exchange: the first of `asked` to answer gives its summary (rejoin.ts). */
      ask(asked: Peer[]): void;
      /** A first-hand check, as the sweep's: two probes, a loss if neither is answered. */
      check(peer: Peer): void;
    },
  ) {
    this.settled = new SettledView(s);
    this.flux = new FluxChecks(s, (peer) => h.check(peer));
  }

  /**
   * This agent's settled view's digest (settled-view.ts), recomputed only when the directory's agents or their
   * states moved, or one in flux settled.
   */
  own(): number {
    const { view, lost } = this.settled.digests();
    if (view !== this.mine) {
      [this.mine, this.mineLost, this.since] = [view, lost, this.s.c.clock.monotonic()];
      this.tally.clear();
    }
    return view;
  }

  /**
   * A multicast heartbeat of `peer` named its view's digest. Counted only from the endpoint its datagrams come from:
   * on an open site a name in a datagram proves nothing, and its source address a little more.
   */
  heard(peer: Peer, digest: number, from: Endpoint): void {
    if (!peer.verified || !peer.datagram || !sameEndpoint(peer.datagram, from)) return;
    if (digest === this.own() || digest === this.mineLost) return this.flux.agreed(this.settled.aliveInFlux());
    // A voter revived lately in this view was cut off from it: its view is catching up as this one is. At a heal the
    // far camp's first heartbeats named its camp's settled view against this camp's, steady since the cut (the
    // revivals still in flux): 70 more digest compares at vote-storm's heal, each agent's spacing spent.
    if (this.settled.movedLately(peer.name)) return;
    let voters = this.tally.get(digest);
    if (!voters) {
      // The oldest goes: a view the site has moved on from (a start's flux) is no vote any more.
      const oldest = this.tally.keys().next();
      if (this.tally.size >= TALLIED && !oldest.done) this.tally.delete(oldest.value);
      this.tally.set(digest, (voters = new Set()));
    }
    voters.add(peer.name);
    const now = this.s.c.clock.monotonic();
    const period = this.s.cfg.livenessPeriodMs;
    if (voters.size < VOTERS || now - this.since < STEADY_PERIODS * period) return;
    const quiet = now - this.lastExchange >= 2 * VOTE_SPACING_PERIODS[this.spacing] * period;
    if (quiet) this.spacing = 0;
    else if (now - this.lastExchange < VOTE_SPACING_PERIODS[this.spacing] * period) return;
    // One that left this agent's view as it was brought nothing (a forged vote, or a split no summary mends): the last.
    else if (this.since < this.lastExchange) this.spacing = VOTE_SPACING_PERIODS.length - 1;
    else this.spacing = Math.min(this.spacing + 1, VOTE_SPACING_PERIODS.length - 1);
    this.lastExchange = now;
    this.tally.clear();
    void this.consult(peer);
  }

  /**
   * The summary is asked of a ring neighbour whose view differs from this agent's, not of the voter: one multicast
   * reaches every agent at once, so two forged heartbeats made every steady agent ask the last voter's summary in the
   * same instant (test/attacks/vote-storm.test.ts: 48 summaries served by one agent in 5 s at 50 agents, each 2
   * minutes). Each agent's neighbours are its own, so the asks spread (at most 4 an agent). Neighbours that hold
   * this agent's view say the vote is a forgery or another camp's (a split no summary mends): no summary then. The
   * voter is asked only when no neighbour answers.
   */
  private async consult(voter: Peer): Promise<void> {
    const near = this.h.neighbours().filter((p) => p !== voter);
    let answered = false;
    for (const other of near.slice(0, VOTE_COMPARES)) {
      const theirs = await neighbourDigest(this.s, other);
      if (!this.s.running()) return;
      if (theirs === 'unanswered') continue;
      answered = true;
      this.s.c.metrics.viewExchanges.inc({ why: 'digest' });
      // A hello's digest is of the whole view, flux and all: compared with this agent's whole view. One holding only
      // this agent lost agrees: its refutation mends that, not a summary (as heard's rule).
      const [dir, self] = [this.s.c.directory, this.s.cfg.name];
      if (theirs === undefined || (theirs !== viewDigest(dir) && theirs !== viewDigest(dir, self))) {
        return this.h.ask([other, ...near]);
      }
    }
    if (!answered) this.h.ask([voter]);
  }
}
