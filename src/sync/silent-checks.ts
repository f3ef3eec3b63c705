import type { Peer } from './peer-table.js';
import type { LivenessHooks } from './liveness-hooks.js';
import { CONFIRM_DEADLINE_PERIODS, type Liveness } from './liveness.js';
import { aliveRing, intervalOf } from './ring.js';
import { askAround } from './summary-asks.js';
import type { SyncContext } from './sync-context.js';
import { WhereAsks } from './where-asks.js';

/** How long a notice sent on a helper's verdict stands for this agent's repeats of it, in liveness periods. */
const TOLD_FOR_PERIODS = 10;

/**
 * The check of a silent peer (the sweep's, or a rejoin's): its probes, the notice that tells the site, and the loss.
 * Liveness (liveness.ts) holds the probe itself.
 */
export class SilentChecks {
  /** Checks under way (a probe, and maybe its confirming one). */
  underWay = 0;
  /** When this agent last told the site of each subject on a helper's verdict (kept TOLD_FOR_PERIODS). */
  private readonly toldIndirectly = new Map<string, number>();
  private readonly whereAsks: WhereAsks; // a check's unanswered probe: the peer's monitors asked where it is

  constructor(
    private readonly s: SyncContext,
    private readonly hooks: LivenessHooks,
    private readonly l: Liveness,
  ) {
    this.whereAsks = new WhereAsks(s, l.learnOf);
  }

  /**
   * A silent peer is asked; silence alone never loses it. A refusal does (the probe itself sees to it). A
   * probe that times out may only mean this agent's own event loop was late (a busy host, 200 agents in
   * one process): the answer sat unread while the deadline fired. So it is asked once more with twice
   * the deadline, and lost only if that one goes unanswered too. On an open site the notice goes out
   * after the first timeout: there it only asks the others to probe, with the longer deadline, so their
   * check runs beside this one's second probe instead of after it (the vanished-host time).
   */
  async check(peer: Peer): Promise<void> {
    this.underWay += 1;
    try {
      await this.checkOnce(peer);
    } finally {
      this.underWay -= 1;
    }
  }

  private async checkOnce(peer: Peer): Promise<void> {
    // Only its monitors tell the site: when both were late, every agent's backstop found it at once, and
    // each multicast a notice the others no longer needed (62 at 32 agents; attack test notice-held-back).
    const monitor = aliveRing(this.s).watches(this.s.cfg.name, peer.name);
    // Its own timeout would be no evidence: on-time neighbours probe beside it (IndirectChecks, SWIM's ping-req).
    if (monitor && !this.hooks.keyed && !this.l.health.trusted() && !this.toldLately(peer)) this.l.indirect.ask(peer);
    const sent = this.s.c.clock.monotonic();
    const first = await this.l.probe(peer, peer.endpoint);
    if (first === 'refused' || first === 'other-agent') return this.foundGone(peer, monitor);
    // Moved in its life? Its monitors know (swarm seed 657); a monitor hears its moves itself (where-asks.ts).
    if (first === 'no-answer') this.whereAsks.ask(peer);
    // Asked elsewhere while this probe was out (`busy`): asked there now, not after a second (swarm seed 475).
    if (['no-answer', 'heard', 'lagged'].includes(first) && (await this.l.answeredElsewhere(peer))) return;
    // Heard meanwhile, it is asked once more as after a timeout (a check's cadence is the same), but not told of.
    if (first !== 'no-answer' && first !== 'heard') return;
    // A prober whose own loop is late does not accuse on one timeout (Lifeguard's local health): in a
    // loaded cold start such early notices, each heard by the whole site, fed the timeouts they reported.
    const early = first === 'no-answer' && monitor && !this.hooks.keyed && this.l.health.trusted();
    if (early && !this.toldLately(peer)) this.noticeIfRare(peer); // told on a helper's verdict: not again (18378)
    // Stretched by the lateness since the first probe only: a stall over before it (a freeze) is past (23000296).
    const second = await this.l.probe(peer, peer.endpoint, 'probe', CONFIRM_DEADLINE_PERIODS, sent);
    // An early notice went out already. Another agent at its address is a refusal too (finding D: not told, 9 s).
    if (second === 'refused' || second === 'other-agent')
      return early ? askAround(this.s, peer, this.l.learnOf) : this.foundGone(peer, monitor);
    if (second !== 'no-answer' || this.s.peers.get(peer.name) !== peer) return;
    if (await this.l.answeredElsewhere(peer)) return; // asked elsewhere during the second probe: a move (attack15)
    this.l.lose(peer, 'two probes went unanswered, the second with twice the deadline', true);
    // Most of its checks unanswered: this agent (its loop, its link) is the likelier cause; the site is not told.
    if (monitor && !early && !this.toldLately(peer) && !this.l.health.doubtsItself()) this.noticeIfRare(peer);
  }

  /** An on-time helper's probe went unanswered during this monitor's check: told now, as after an on-time timeout. */
  goneIndirectly(peer: Peer, helper: string): void {
    if (!aliveRing(this.s).watches(this.s.cfg.name, peer.name) || this.toldLately(peer)) return;
    this.s.c.logger.info({ agent: peer.name, helper }, 'indirect probe unanswered: lost notice');
    this.toldIndirectly.set(peer.name, this.s.c.clock.monotonic());
    this.noticeIfRare(peer, false); // judged at the end of its loop's turn (IndirectChecks.verdict): no gather
  }

  /**
   * Whether this agent told the site of the peer on a helper's verdict lately: its own later confirmation,
   * or another monitor's notice, is not repeated (each repeat is a multicast heard by the whole site).
   */
  toldLately(peer: Peer): boolean {
    const now = this.s.c.clock.monotonic();
    for (const [name, at] of this.toldIndirectly)
      if (now - at >= TOLD_FOR_PERIODS * this.s.cfg.livenessPeriodMs) this.toldIndirectly.delete(name);
    return this.toldIndirectly.has(peer.name);
  }

  /**
   * This agent's own check found the peer's process gone: it tells the site (a notice, if the others hear
   * the peer rarely) and asks one peer where it may have restarted. Only here: when every agent that
   * probed the peer because of a notice also sent one, a crash drew 2 notices from each agent (118 at 60
   * agents, 1,000 multicasts heard by 500 each at 500: the simulator's livelock) and N summaries.
   */
  private foundGone(peer: Peer, monitor: boolean): void {
    if (monitor) this.noticeIfRare(peer);
    askAround(this.s, peer, this.l.learnOf);
  }

  /** A peer lost by this agent's own check, that the others hear only rarely: a notice tells them. */
  private noticeIfRare(peer: Peer, gather = true): void {
    if ((intervalOf(this.s, peer) ?? 0) > this.s.cfg.livenessPeriodMs) this.hooks.noticeLost(peer, gather);
  }
}
