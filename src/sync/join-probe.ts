import type { BulkSets } from './bulk-sets.js';
import type { ProbeOutcome } from './liveness-hooks.js';
import type { Peer } from './peer-table.js';
import type { SyncContext } from './sync-context.js';

/**
 * Probes of the join's member in all, the first included, while its outcome says nothing of the member: a probe
 * timed out on this agent's own late loop (`lagged`), one out while the member was heard (`heard`), or the member
 * already being probed (`busy`). Each has twice the deadline of the one before (liveness periods, stretched by this
 * agent's late loop as any probe's): a newcomer's first probe goes before its loop's lateness is known.
 */
const JOIN_TRIES = 3;
const AGAIN = new Set<ProbeOutcome>(['lagged', 'heard', 'busy']);
/** A probe already out (`busy`) is waited for this share of a period before the next try: it settles meanwhile. */
const BUSY_RETRY_PERIODS = 0.25;
/** The hold of a try: its probe's deadline and this many periods more (the answer's last turns, the next try's go). */
const TRY_SLACK_PERIODS = 0.5;

/**
 * The join of a site whose heartbeats are stretched (transitions.ts `joiningLargeSite`): one probe of its first
 * member asks for its summary, and its answer is the bulk catch-up's go (bulk-sets.ts). A probe that settles without
 * word of the member is asked again: at real 50 agents over 5 s on a loaded machine (all in one busy process) 43
 * of 50 join probes came back `lagged`, their answers read 2.1-4.5 s after they were sent, behind their deadline's
 * timer. The bulk was asked only after an `alive` one and the summary was lost with the probe: every earlier origin
 * was learnt from its own heartbeat and fetched from it (979 `heartbeat` gaps, 1,225 snapshots, no bulk page).
 */
export class JoinProbe {
  private started = false;
  /** The bulk asked (`askBulk`): after the first try that said the member answers late or at all. */
  private bulkAsked = false;

  constructor(
    private readonly s: SyncContext,
    private readonly bulk: BulkSets,
    /** A probe of `periods` liveness periods (Liveness.probe, signal `join`: it asks for the summary). */
    private readonly probe: (peer: Peer, periods: number) => Promise<ProbeOutcome>,
    private readonly hooks: {
      /** The join settled: its view is checked against other peers' (join-view.ts). */
      joined(peer: Peer): void;
      /** A probe's deadline of `ms`, as this agent's late loop stretches it (LocalHealth.stretch). */
      stretch(ms: number): number;
    },
  ) {}

  /** Once a life: the first datagram of a stretched site names the member. */
  start(member: Peer): void {
    if (this.started) return;
    this.started = true;
    // The catch-ups of what the summary names wait for the member's sets: within every try's hold and the ask's.
    const periods = 2 ** JOIN_TRIES - 1 + JOIN_TRIES * TRY_SLACK_PERIODS;
    const bound = this.hooks.stretch(periods * this.s.cfg.livenessPeriodMs) + this.s.cfg.fetchTimeoutMs;
    const bulk = this.bulk.expect(member, bound);
    void this.ask(member, bulk, 1);
  }

  private async ask(member: Peer, bulk: boolean, tries: number): Promise<void> {
    const periods = 2 ** (tries - 1);
    // Once the bulk is asked its own half-deadline hold stands: a later try does not stretch it.
    if (bulk && !this.bulkAsked)
      this.bulk.holding(this.hooks.stretch((periods + TRY_SLACK_PERIODS) * this.s.cfg.livenessPeriodMs));
    const outcome = await this.probe(member, periods);
    const again =
      AGAIN.has(outcome) && tries < JOIN_TRIES && this.s.running() && this.s.peers.get(member.name) === member;
    if (again) {
      this.s.c.metrics.bulkAsks.inc({ result: `join-${outcome}-again` });
      // Not before anything waits for it: a lagged try's summary is dropped with its answer, and an ask that found
      // nothing held was spent, the next try's summary fetched one by one (attacks/join-lagged-nothing-held).
      if (bulk && outcome !== 'busy' && this.bulk.paysNow(member)) this.askBulk(member, 'alive');
      const wait = outcome === 'busy' ? this.s.cfg.livenessPeriodMs * BUSY_RETRY_PERIODS : 0;
      if (wait === 0) return this.ask(member, bulk, tries + 1);
      this.s.c.clock.setTimeout(() => void (this.s.running() && this.ask(member, bulk, tries + 1)), wait);
      return;
    }
    if (bulk) this.askBulk(member, outcome);
    if (this.s.running()) this.hooks.joined(member);
  }

  /**
   * The member's sets, asked once. Not only after an `alive` try: a `lagged` one timed out on this agent's own late
   * loop and a `heard` one while the member was heard, neither a member that does not answer. Asked only after the
   * last try (bulk22), at real keyed 100 agents over 5 s (load ~7) 102 `lagged` and 49 `heard` tries held what the
   * summary named up to their bound (1 + 2 + 4 periods, stretched): 955 of 1,984 sets the members gave were held
   * more than 16 s after the newcomer knew of the life (s23-cold). The tries go on for the summary meanwhile.
   */
  private askBulk(member: Peer, outcome: ProbeOutcome): void {
    if (this.bulkAsked) return;
    this.bulkAsked = true;
    void this.bulk.ask(member, outcome);
  }
}
