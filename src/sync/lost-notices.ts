import { fnv1a32, incarnationTag, type Hint } from '../protocol/messages.js';
import type { Asker, Endpoint } from '../transport/transport.js';
import type { Announcer } from './announcer.js';
import { CONFIRM_DEADLINE_PERIODS, type Liveness } from './liveness.js';
import type { Peer } from './peer-table.js';
import { SYNC_LIMITS } from './config.js';
import { NoticeDistrust } from './notice-distrust.js';
import { LostAskers } from './lost-askers.js';
import { ringNeighbours } from './notice-relay.js';
import { aliveRing, MONITOR_GAP_PERIODS } from './ring.js';
import type { SyncContext } from './sync-context.js';

/**
 * Lost notices heard (SWIM's "confirm", spread by multicast rather than gossip): the sender's own probe
 * found the agents its hints name gone. With the site's key a notice is believed, as any signed word
 * of a member is, unless this agent heard the named one itself within the longest gap a monitor hears
 * (then it asks it, Lifeguard's caution before trusting another's view). Without a key anyone could send one: it only
 * makes this agent probe the named agent itself (the rule mDNS hints follow). A notice naming this agent
 * is refuted at once by a heartbeat, which everyone hears and which makes them count it alive again.
 */
export class LostNotices {
  private readonly selfHash: number;
  private readonly selfTag: number;
  /**
   * Open sites: reporters whose notices named agents that then answered are not listened to for a while,
   * longer with each repeat (NoticeDistrust). A true notice of such a reporter goes unheard meanwhile; the
   * subject's other monitors and the backstop still see the loss.
   */
  private readonly distrust: NoticeDistrust;
  /** Who lately held this agent's life lost in a hello: a multicast only for a loss several viewers hold. */
  private readonly askers: LostAskers;

  constructor(
    private readonly s: SyncContext,
    private readonly parts: { liveness: Liveness; announcer: Announcer; keyed: boolean },
  ) {
    this.selfHash = fnv1a32(s.cfg.name);
    this.selfTag = incarnationTag(s.cfg.incarnation);
    this.distrust = new NoticeDistrust(s.c.clock, s.cfg.livenessPeriodMs, SYNC_LIMITS.peers);
    this.askers = new LostAskers(s.cfg.livenessPeriodMs);
  }

  receive(reporter: Peer, hints: readonly Hint[], from: Endpoint): void {
    const counted = (result: string) => this.s.c.metrics.lostNotices.inc({ result });
    // Without a key a notice is no one's word: one datagram made every agent of the site probe the agent
    // it named (N connections, a summary on every fourth). Only a verified member heard at its own address
    // is listened to, and only about an agent it watches on the ring, as the monitors who send notices do.
    const open = !this.parts.keyed;
    if (open && !(reporter.verified && reporter.endpoint.address === from.address)) return counted('ignored');
    if (open && this.distrust.distrusted(reporter.name)) return this.distrusted(reporter, hints, aliveRing(this.s));
    const ring = aliveRing(this.s);
    for (const hint of hints) {
      if (hint.nameHash === this.selfHash) {
        // A notice about an earlier life of this agent is true: nothing to refute.
        if (hint.incarnationTag === this.selfTag) this.parts.announcer.refute();
        counted(hint.incarnationTag === this.selfTag ? 'refuted' : 'ignored');
        continue;
      }
      const peer = this.s.peers.byHash(hint.nameHash);
      const alive = peer !== undefined && this.s.c.directory.held(peer.name)?.state === 'alive';
      // A ring neighbour's word about an agent it does not watch is a relay (notice-relay.ts): second-hand, probed.
      const relayed = peer !== undefined && !ring.watches(reporter.name, peer.name);
      const stranger = relayed && !ringNeighbours(ring, reporter.name, this.s.cfg.name);
      if (
        !peer ||
        !alive ||
        peer === reporter ||
        (open && stranger) ||
        incarnationTag(peer.replica.incarnation) !== hint.incarnationTag
      ) {
        counted('ignored');
        continue;
      }
      const now = this.s.c.clock.monotonic();
      const heardLately = now - peer.lastHeard < MONITOR_GAP_PERIODS * this.s.cfg.livenessPeriodMs;
      const monitor = ring.watches(this.s.cfg.name, peer.name);
      if (this.parts.keyed && !heardLately && (!relayed || stranger)) {
        // Every monitor repeats it, as if it had found it itself: a host that lost one notice hears another.
        this.parts.liveness.lose(peer, `lost notice from ${reporter.name}`);
        counted('believed');
        this.tell(peer, monitor);
      } else if (now - peer.probedAt >= this.s.cfg.livenessPeriodMs || this.parts.liveness.indirect.vouched(peer)) {
        this.confirm(peer, reporter, monitor);
        counted(relayed && !stranger ? 'relayed' : 'probed');
      } else if (this.afterCheck(peer, reporter, monitor)) counted('held');
      else counted('ignored');
    }
  }

  /**
   * A hello said its asker holds this agent's current life lost (`lost=I`, a recheck's; lost-rechecks.ts). Without a
   * key, only a verified member's word at its own address counts, as for a notice: a stranger (a name never heard, any
   * address) asking every agent once a second made all of them multicast every second, 150 -> 1,980 multicasts heard
   * in 20 s at 100 agents (attacks/lost-refutation-flood). The hello's own answer revives this agent at the asker; a
   * multicast heartbeat, which revives it at every viewer, only once a second asker holds it lost too, at most once
   * in a few periods, or while its own loop lags lately (lost-askers.ts): a member's hellos to every agent each
   * second made every agent multicast every period (152 -> 1,944 heard in 20 s at 100).
   */
  askedLost(asker: Asker & { address: string }): void {
    if (asker.lost !== this.s.cfg.incarnation) return;
    const peer = this.s.peers.get(asker.name);
    if (!this.parts.keyed && !(peer?.verified && peer.endpoint.address === asker.address)) return;
    // Its own loop lagged lately (deadlines stretched): its late answers may have lost it at many viewers.
    const late = this.parts.liveness.health.score() > 0;
    if (this.askers.asked(asker.name, this.s.c.clock.monotonic(), late)) this.parts.announcer.refute();
  }

  /**
   * A loss this agent took on another's word told on: a monitor multicasts a notice of its own, any other agent
   * relays it to its ring neighbours (notice-relay.ts), so a host that missed every copy of the monitors' hears it.
   */
  private tell(peer: Peer, monitor: boolean): void {
    const { name, replica } = peer;
    if (monitor) this.parts.announcer.notice(name, replica.incarnation, replica.heldVersion());
    else this.parts.announcer.relays.relay(name, replica.incarnation, replica.heldVersion());
  }

  /** A distrusted reporter's notice: no probe, but the silence of the alive agents it watches is judged sooner. */
  private distrusted(reporter: Peer, hints: readonly Hint[], ring: ReturnType<typeof aliveRing>): void {
    for (const hint of hints) {
      const peer = this.s.peers.byHash(hint.nameHash);
      if (peer && peer !== reporter && this.s.c.directory.held(peer.name)?.state === 'alive')
        if (ring.watches(reporter.name, peer.name)) this.parts.liveness.noticed(peer);
    }
    this.s.c.metrics.lostNotices.inc({ result: 'distrusted' });
  }

  /**
   * A notice heard while this agent's probe of the named agent for another's check is out: followed once that probe
   * is over, as if heard then, unless the probe was answered. Its one-period probe is no confirmation of the notice
   * (the confirming probe is the longer one: a slow live agent answers within it), so it is not counted; but
   * dropping the notice left this agent to its backstop, the last on the site to lose a vanished host by a second.
   * False when no such probe is out: the notice is ignored.
   */
  private afterCheck(peer: Peer, reporter: Peer, monitor: boolean): boolean {
    const check = this.parts.liveness.indirect.underway(peer);
    void check?.then((outcome) => {
      if (outcome === 'alive' || outcome === 'heard' || outcome === 'stale' || !this.s.running()) return;
      const held = this.s.peers.get(peer.name) === peer && this.s.c.directory.held(peer.name)?.state === 'alive';
      if (held && this.s.peers.get(reporter.name) === reporter) this.confirm(peer, reporter, monitor);
    });
    return check !== undefined;
  }

  /**
   * Asks the named agent itself. A refusal loses it as any probe does. The notice stands for the first
   * unanswered probe (the reporter's); this one is the second, with the longer deadline, so a timeout of
   * it is taken as the confirmation: two agents' checks agree, and this one's own late event loop had
   * twice the time to read an answer. A backstop alone would take several of its stretched intervals.
   * Only a monitor of the named agent repeats the notice once its probe agrees (so that a host that lost
   * one copy hears another): when every receiver did, one crash drew 2 notices from every agent.
   */
  private confirm(peer: Peer, reporter: Peer, monitor: boolean): void {
    void this.parts.liveness.probe(peer, peer.endpoint, 'notice', CONFIRM_DEADLINE_PERIODS).then((outcome) => {
      if (outcome === 'alive' && !this.parts.keyed) this.distrust.falseNotice(reporter.name);
      if (outcome !== 'no-answer' && outcome !== 'refused') return;
      if (!this.parts.keyed) this.distrust.trueNotice(reporter.name);
      if (!this.s.running() || this.s.peers.get(peer.name) !== peer) return;
      if (outcome === 'no-answer')
        this.parts.liveness.lose(peer, `a lost notice from ${reporter.name}, and no answer to a long probe`, true);
      const credible = outcome === 'refused' || !this.parts.liveness.health.doubtsItself();
      if (credible && !(monitor && this.parts.liveness.checks.toldLately(peer))) this.tell(peer, monitor);
    });
  }
}
