import { SNAPSHOT_PAGE_BYTES } from '../directory/catch-up.js';
import { sizedEntries } from '../directory/origin.js';
import type { WholeSet } from '../directory/sets-page.js';
import type { Hello } from '../transport/transport.js';
import type { TimerHandle } from '../util/clock.js';
import type { LocalHealthHooks } from './changes-fetch.js';
import { SYNC_LIMITS } from './config.js';
import { noteFirstCopy, type FirstCopyPath } from './first-copies.js';
import type { OriginReplica } from './origin-replica.js';
import type { Peer } from './peer-table.js';
import { secondMember } from './second-member.js';
import type { SyncContext } from './sync-context.js';

/** The catch-ups that wait for the bulk answer: of names a summary gave (transitions.ts learnOf, admitWaiting). */
const BULK_SIGNALS = new Set(['summary', 'waited']);

/** How long sets of origins not yet let in are kept for them (the waiting room's places free within seconds). */
const OFFERS_MS = 30_000;

/**
 * The most device JSON kept for origins not yet let in (4 snapshot pages, MiB): a site of 1,000 agents of 10 devices
 * holds ~2 MiB in all. Unbounded, a forging member's pages of made-up origins were kept whole (attack19: 22 MiB of 8
 * pages, up to 64 pages of 4 MiB); past the bound an origin's set is fetched from it when let in, as before.
 */
const OFFERS_BYTES = 4 * SNAPSHOT_PAGE_BYTES;

/**
 * How long the catch-ups a summary named wait for the bulk answer once it is asked: half a deadline. A member that
 * answers at all answers a calm site's first page in milliseconds; one that hangs (a stalled loop, a forger) held
 * them until its first page's allowance ran out (the http client gives it 4 deadlines for a busy accept queue): 2,060
 * ms for a newcomer in the simulator, ~8 s on real sockets, against issue 18's 2 s (attack19, attacks/bulk-ask-hung).
 * Past the hold the catch-ups go origin by origin; sets that come later are taken only where none is under way or
 * held. Counted from the ask, not from the join probe: that probe settles within its own deadline, and a member that
 * does not answer it holds nothing past it (no bulk ask then). Counted from the probe (bulk22), a join answer read
 * past the half deadline, 0.6-4.5 s after the probe on a loaded machine, found every held catch-up gone already.
 */
const HOLD_DEADLINES = 0.5;

/**
 * Held catch-ups still behind after the member's answer that make a second member's worth asking: one request
 * instead of this many or more, one by one at their origins.
 */
const SECOND_LACKING = 2;

/**
 * The bulk catch-up (docs/protocol.md, *Bulk catch-up*): a newcomer asks its join's summary peer for every whole set
 * it holds, in pages, instead of one catch-up per origin at that origin (memberlist's push/pull state sync with one
 * member). A newcomer of a site of N made N - 1 catch-ups, each a fresh connection, a parse and a check at both
 * ends: a cold start of N made ~N(N-1)/2, 40 % of a child's CPU at 100 agents on real sockets (cpu15).
 *
 * What the answer's sets become: the member's word. An origin's set is taken only for a life this agent already
 * knows (named by the summary, its own datagram or answer, within the peer table's bounds: the answer adds no
 * name), never below what it holds nor above the newest version it knows of that life (the target), never for a
 * provisional life (its endpoint settles it), and never over its own catch-up under way. On an open site every set
 * but the member's own is held second-hand, as an alternate's answer is, verified origin or not, and its endpoint is
 * probed at once: the set stands only if the origin's answer names its version and digest (`answered`). A later
 * version is a gap, caught up from the origin.
 */
export class BulkSets {
  /**
   * Until when at most (monotonic ms) the catch-ups of origins held nothing of wait for the bulk answer; 0: none
   * coming. The hold ends sooner: when the join probe settles without an answer, or `holdTimer` runs out.
   */
  private until = 0;
  /** Ends the hold: the join probe's try out too long (`holding`), or the bulk asked half a deadline ago. */
  private holdTimer: TimerHandle | undefined;
  private asked = false;
  /** The member's life asked (its own set comes in its answer), and the other lives held back for the answer. */
  private member: OriginReplica | undefined;
  private readonly held = new Set<OriginReplica>();
  /**
   * Sets of origins not in the peer table when their page came (past the unverified places, in the waiting room:
   * 128 of an open site of 200), by name, taken when the origin is let in (`offered`), until OFFERS_MS after.
   */
  private readonly offers = new Map<string, { set: WholeSet; bytes: number }>();
  private offersUntil = 0;
  private offersBytes = 0;

  constructor(
    private readonly s: SyncContext,
    private readonly hooks: {
      /** The bulk catch-up settled (`answer`) or its hold ran out (`hold`): what it held goes (Catchup.released). */
      released(by: 'answer' | 'hold'): void;
      /** A set was taken second-hand from the member (open site): its origin's endpoint is asked at once (a probe). */
      verify(peer: Peer): void;
      /** Whether the origin's own word by datagram names the set just taken (first-hand-words.ts): no probe then. */
      confirmed(peer: Peer): boolean;
      /** The site has a key: a member's answer is a key holder's signed word, taken as such (no check). */
      keyed: boolean;
    } & Pick<LocalHealthHooks, 'deadline'>,
  ) {}

  /**
   * The join asks a member for its summary: what it names waits for its sets, `boundMs` at most (the join probe's
   * tries and the ask: join-probe.ts). Once a life; false without a client.
   */
  expect(member: Peer, boundMs: number): boolean {
    if (this.asked || this.s.c.peers.sets === undefined) return false;
    this.asked = true;
    this.member = member.replica;
    this.until = this.s.c.clock.monotonic() + boundMs;
    return true;
  }

  /**
   * A try of the join probe is out, for `ms` at most: the hold lasts that long, unless it settles. `until` grows to
   * cover it: drawn at the first try, before this agent's loop was found late, it ended the hold while a later try,
   * stretched, was still out, and every held catch-up went at once (attackb22; bulk22's overloaded real run).
   */
  holding(ms: number): void {
    if (this.until === 0) return;
    this.until = Math.max(this.until, this.s.c.clock.monotonic() + ms);
    this.s.c.clock.clearTimeout(this.holdTimer);
    this.holdTimer = this.s.c.clock.setTimeout(() => this.release('hold'), ms);
  }

  /**
   * How long a catch-up of this life waits for the bulk answer: only a first one, of a life held nothing of, that a
   * summary named (the member's, or a name let in from the waiting room): what the member's sets hold. An origin
   * heard itself meanwhile (a starter's announcement) is not in them: held back too, 11.8k catch-ups waited out the
   * bulk answer for nothing in a 200-agent cold start on real sockets, its loops seconds late. The member's own
   * set is in its answer whatever named it (the very datagram that made it the member): asked on its own as well,
   * the member served a newcomer twice (`test/sync-bulk-catchup.test.ts`).
   */
  waitMs(r: OriginReplica, signal: string): number {
    if (this.until === 0 || (r !== this.member && !BULK_SIGNALS.has(signal) && !this.earlier(r, signal))) return 0;
    if (r.previous || r.failures > 0 || r.heldVersion() > 0) return 0;
    if (r !== this.member) this.held.add(r);
    return Math.max(0, this.until - this.s.c.clock.monotonic());
  }

  /**
   * An origin's own heartbeat of a life that began before this agent's (incarnations are start times, as the join's
   * checks rank them: join-view.ts): the member, running before this agent too, holds it as surely as what its
   * summary names. On real sockets the join's answer comes back through loops hundreds of ms late, while the site's
   * answers to this agent's solicit and the next starters' (about 8 multicast heartbeats each, 100 ms apart in a cold
   * start) arrive first: each started a catch-up of its own, the summary then named origins already asked, and the
   * bulk ask did not pay (50 keyed agents over 5 s: every newcomer/earlier pair a `heartbeat` gap, no bulk page).
   * A starter's announcement names a later life: not held (see above).
   */
  private earlier(r: OriginReplica, signal: string): boolean {
    return signal === 'heartbeat' && r.incarnation < this.s.cfg.incarnation;
  }

  /**
   * `asked` if the bulk ask is the member's one request from this agent, and spares some: its own set not asked (held
   * back for the answer, or not wanted), and some other origin waiting for it. In a cold start every agent joins
   * through the first whose heartbeat is stretched (~1.5 s in on real sockets), and by then holds or is fetching
   * that member's set, often every set its summary names: the bulk ask came on top of the member's own catch-up
   * (the 50-agent cold start's busiest agent served 56-92 against 49, each bulk asker adding one). Not asked, what
   * it held back goes origin by origin, the member's own set as its own catch-up: one request at each.
   */
  private pays(member: Peer): string {
    const own = member.replica;
    if (own.heldVersion() > 0 || own.failures > 0 || own.catchup.kind === 'fetching' || own.catchup.kind === 'queued')
      return 'member-set-asked';
    for (const r of this.held) if (r.catchup.kind === 'waiting' && r.heldVersion() === 0 && !r.left) return 'asked';
    return 'nothing-waiting';
  }

  /** Whether asking the member's sets now would spare a request (`pays`): a join try's early ask waits for it. */
  paysNow(member: Peer): boolean {
    return this.pays(member) === 'asked';
  }

  /** The join probe of the summary's member settled (`outcome`): if it answered, its sets; then the rest goes. */
  async ask(member: Peer, outcome: string): Promise<void> {
    try {
      const result = outcome === 'alive' ? this.pays(member) : `join-${outcome}`;
      this.s.c.metrics.bulkAsks.inc({ result });
      if (result !== 'asked') return;
      // Stretched by this agent's own late turns, as a catch-up's deadline: a timer runs before the answer is read.
      const hold = this.hooks.deadline(this.s.cfg.fetchTimeoutMs * HOLD_DEADLINES);
      this.until = Math.min(this.until, this.s.c.clock.monotonic() + hold);
      this.holding(hold);
      await this.pages(member, 'bulk');
      await this.second(member);
    } catch (err) {
      if (!this.s.running()) return;
      this.s.c.metrics.catchupRequests.inc({ result: 'failed' });
      this.s.c.logger.debug({ agent: member.name, err: (err as Error).message }, 'bulk catch-up failed');
    } finally {
      this.release('answer');
    }
  }

  /**
   * The member answered, but what it held back is still behind: in a fast start the member is itself seconds old,
   * still catching up the sets its summary named (s23-bulk: at real 200 keyed agents over 5 s, 5,214 held catch-ups
   * behind after 184 answers, 14,582 snapshots). One older member is asked for its sets too, within what is left of
   * the hold, before they go one by one: only the sets still lacking are taken (`take` skips what is held). Not a
   * hold of its own: a first answer read just inside the hold, then a second member that hangs, held them for both,
   * 2,060 ms against attack19's 2 s (attacks/second-member-hung).
   */
  private async second(first: Peer): Promise<void> {
    if (this.until === 0 || !this.s.running()) return; // the hold passed: what it held has gone
    let lacking = 0;
    for (const r of this.held) if (r.catchup.kind === 'waiting' && r.heldVersion() === 0 && !r.left) lacking++;
    if (lacking < SECOND_LACKING) return;
    const other = secondMember(this.s, first, this.hooks.keyed);
    this.s.c.metrics.bulkAsks.inc({ result: other ? 'second-asked' : 'second-none' });
    if (!other) return;
    await this.pages(other, 'second'); // within what is left of the first hold (attacks/second-member-hung)
    // Read past its hold: what it held went one by one meanwhile (`herald_bulk_held_total{released="hold"}`).
    if (this.until === 0) this.s.c.metrics.bulkAsks.inc({ result: 'second-late' });
  }

  /** The hold ends: what waited for the answer goes now, if its set did not come. Once. */
  private release(by: 'answer' | 'hold'): void {
    this.s.c.clock.clearTimeout(this.holdTimer);
    if (this.until === 0) return;
    this.until = 0;
    this.held.clear();
    if (this.s.running()) this.hooks.released(by);
  }

  private async pages(member: Peer, path: FirstCopyPath): Promise<void> {
    const sets = this.s.c.peers.sets?.bind(this.s.c.peers);
    let after: string | undefined;
    for (let pages = 0; sets && pages < SYNC_LIMITS.snapshotPages; pages++) {
      const deadline = this.hooks.deadline(this.s.cfg.fetchTimeoutMs);
      const page = await sets(member.endpoint, after, deadline);
      if (!this.s.running() || this.s.peers.get(member.name) !== member) return;
      this.s.c.metrics.catchupRequests.inc({ result: 'sets' });
      this.offersUntil = this.s.c.clock.monotonic() + OFFERS_MS;
      for (const set of page.sets) this.take(member, set, path);
      if ((after = page.next) === undefined) return;
    }
  }

  /** A catch-up of this origin is wanted: a set the bulk answer kept for it is taken first (see `offers`). */
  offered(peer: Peer): void {
    if (this.offers.size === 0) return;
    if (this.s.c.clock.monotonic() >= this.offersUntil) {
      this.offersBytes = 0;
      return this.offers.clear();
    }
    const offer = this.offers.get(peer.name);
    if (offer === undefined) return;
    this.offers.delete(peer.name);
    this.offersBytes -= offer.bytes;
    this.take(undefined, offer.set, 'bulk');
  }

  /** A set of an origin not yet let in, kept for it within OFFERS_BYTES (see `offers`). */
  private offer(set: WholeSet): void {
    const { bytes } = sizedEntries(set.entries);
    if (this.offers.size >= SYNC_LIMITS.peers || this.offersBytes + bytes > OFFERS_BYTES) return;
    this.offers.set(set.origin, { set, bytes });
    this.offersBytes += bytes;
  }

  /**
   * One origin's set, as the member holds it: first-hand if it is a verified member's own, else second-hand (an open
   * site's second member need not have answered yet: its own set is checked at its endpoint as any other).
   */
  private take(member: Peer | undefined, set: WholeSet, path: FirstCopyPath): void {
    if (set.origin === this.s.cfg.name) return;
    const peer = this.s.peers.get(set.origin);
    if (!peer) return this.offer(set);
    const r = peer.replica;
    if (r.previous || r.left || set.incarnation !== r.incarnation || r.catchup.kind === 'fetching') return;
    const own = peer === member && peer.verified;
    const before = r.heldVersion();
    if (set.version <= before || (!own && set.version > r.target)) return;
    if (r.applyChanges(set) !== 'applied') return;
    noteFirstCopy(this.s, r, before, path);
    if (own) r.target = set.version;
    this.s.hints.note(peer.name, r.incarnation, r.heldVersion(), false);
    // Not `peer.verified`: on an open site that says the origin answered once, nothing of the set the member served.
    if (own || this.hooks.keyed || this.hooks.confirmed(peer)) return;
    peer.setToCheck = r.incarnation;
    this.hooks.verify(peer);
  }

  /**
   * The origin answered at its endpoint: a set taken second-hand of this life stands only if the answer names the
   * version held and the digest of that set (Hello.setDigest, asked by the probe `verify` sends). Otherwise it is
   * withdrawn (an honest race: the origin changed since; or the member's forgery) and the origin is the target: the
   * catch-up this answer starts fetches its own set. An older origin names no digest: its set is fetched again.
   */
  answered(peer: Peer, hello: Hello): void {
    const life = peer.setToCheck;
    if (life === undefined) return;
    peer.setToCheck = undefined;
    const r = peer.replica;
    const held = r.heldVersion();
    if (r.incarnation !== life || hello.incarnation !== life || held === 0) return;
    if (hello.version === held && hello.setDigest === this.s.c.directory.setDigest(peer.name)) return;
    this.s.c.metrics.invalidInput.inc({ source: 'sync', reason: 'bulk-set-unconfirmed' });
    this.s.c.directory.withdraw(peer.name, life);
    r.target = hello.version;
  }
}
