import { fnv1a32 } from '../protocol/messages.js';
import type { PeerSummary } from '../transport/transport.js';
import type { TimerHandle } from '../util/clock.js';
import { seededRandom } from '../util/random.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';
import { neighbourDigest, viewDigest } from './view-digest.js';

/**
 * Checks after the join's summary, at most: each a digest compare, and the summary only when the views differ.
 * The last is ~63 periods after the join (1 + 2 + 4 + 8 + 16 + 32): a minute at 200 agents, within the minute a
 * newcomer's origins used to wait for their heartbeats.
 */
export const JOIN_CHECKS = 6;

/** The first check this many liveness periods after the join's summary (or its failure); each next one twice as far. */
const FIRST_CHECK_PERIODS = 1;

/**
 * A newcomer's view of the site, checked after its join (issue 18, tail15). On a stretched site a newcomer learns
 * the agents that started before it from one summary, its join probe's (transitions.ts `joiningLargeSite`), and
 * otherwise only from their multicast heartbeats, ~80 s apart at 200 agents. In a loaded cold start that summary
 * fails (its peer's loop busy: 19 of 100 join probes at 100 agents on real sockets) or falls short (a summary
 * names only the origins its peer holds with devices, and a busy peer has not caught them all up yet): 2.3 % of
 * the 200-agent cold start's pairs waited 70-110 s for those heartbeats. So after the join it compares its view's
 * digest (view-digest.ts) with a verified peer's, at 1, 2, 4... periods, and asks that peer's summary only when
 * they differ (Scuttlebutt's digest-first reconciliation), until one agrees or JOIN_CHECKS were made. What a summary
 * names goes through the same bounds as the join's (transitions.ts `learnOf`: on-link names only, the adoption
 * budget, one request per adopted name at its endpoint), so a peer that forges names gets no more than a join's
 * worth of them from each of at most JOIN_CHECKS summaries, in this agent's life.
 */
export class JoinView {
  private checks = 0;
  private timer: TimerHandle | undefined;
  /** Peers already compared with: the next check asks another (each one's view may lack what another's holds). */
  private readonly asked = new Set<string>();

  constructor(
    private readonly s: SyncContext,
    /** Hands a summary's news over, as any summary's (second-hand: at most a reason to ask the agents it names). */
    private readonly learn: (summaries: readonly PeerSummary[], from: string) => void,
  ) {}

  /** The join's summary was asked of `first` and settled, answered or not: the checks begin. */
  joined(first: Peer): void {
    this.asked.add(first.name);
    this.schedule();
  }

  private schedule(): void {
    if (this.checks >= JOIN_CHECKS || this.timer !== undefined) return;
    const ms = FIRST_CHECK_PERIODS * 2 ** this.checks * this.s.cfg.livenessPeriodMs;
    this.timer = this.s.c.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.s.running()) void this.check();
    }, ms);
    this.timer.unref?.();
  }

  /** One compare with a verified peer held alive that was not asked yet; its summary if the views differ. */
  private async check(): Promise<void> {
    this.checks += 1;
    const other = this.pick();
    if (other && (await this.compare(other))) return;
    if (this.s.running()) this.schedule();
  }

  /** Whether the views agree (the checks end); else its summary was learnt, or it did not answer (a busy peer). */
  private async compare(other: Peer): Promise<boolean> {
    this.asked.add(other.name);
    const theirs = await neighbourDigest(this.s, other);
    if (!this.s.running() || theirs === 'unanswered') return false;
    this.s.c.metrics.viewExchanges.inc({ why: 'join-digest' });
    if (theirs === viewDigest(this.s.c.directory)) return true;
    try {
      const hello = await this.s.c.peers.hello(other.endpoint, this.s.cfg.livenessPeriodMs, true, this.s.self);
      if (!this.s.running() || hello.name !== other.name) return false;
      this.s.c.metrics.viewExchanges.inc({ why: 'join' });
      this.learn(hello.peers ?? [], hello.name);
    } catch {
      // Unanswered: the next check asks another peer.
    }
    return false;
  }

  /**
   * A verified peer held alive, not asked yet (no new name: a summary's are not verified), whose life began before
   * this agent's (an incarnation is its start time), if any: it was running when the origins that started before
   * this agent announced themselves, which this agent missed. Among those, ranked by a hash of both names (each
   * newcomer asks its own few, drawing nothing from the agent's random source, whose draws the rest of the protocol's
   * timing shares). The next in name order was asked before: in the bench (and on a site whose hosts are named in
   * the order they boot) a late starter's successors started after it, through the same join member, and lacked the
   * same origins: their views agreed with its own and the checks ended with the gap in place (keyed21: a keyed
   * 200-agent cold start's last pairs, late viewers of earlier origins, waited up to 86 s for the origins' heartbeats).
   */
  private pick(): Peer | undefined {
    const candidates = [...this.s.peers.values()].filter(
      (p) => p.verified && !this.asked.has(p.name) && this.s.c.directory.held(p.name)?.state === 'alive',
    );
    const older = candidates.filter((p) => p.replica.incarnation < this.s.cfg.incarnation);
    // FNV alone ranks names that differ in their last digits nearly alike at every newcomer: mixed once more.
    const rank = (p: Peer) => seededRandom(fnv1a32(`${this.s.cfg.name} ${p.name}`))();
    let [best, bestRank]: [Peer | undefined, number] = [undefined, -1];
    for (const p of older.length > 0 ? older : candidates) {
      const r = rank(p);
      if (r > bestRank) [best, bestRank] = [p, r];
    }
    return best;
  }
}
