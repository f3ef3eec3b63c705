import { fnv1a32, type Hint } from '../../src/protocol/messages.js';
import { Hints, RING_CARRIES } from '../../src/sync/hints.js';
import { Announcer } from '../../src/sync/announcer.js';
import { aliveRing } from '../../src/sync/ring.js';
import type { SyncContext } from '../../src/sync/sync-context.js';
import { percentile } from './scale.js';
import { ScaleSite, type Watch } from './scale-site.js';

/**
 * Where a burst's ring carries go (issue 18, miss13): the bench's change phases (bench/scale/changes.ts: 20
 * changes 50 ms apart on random origins, the next phase as soon as every change is delivered or 20 s passed)
 * on a simulated site of stretched heartbeats, counting per agent the liveness periods, the unicast rounds made
 * and skipped (after its own multicast), the carries each change got from each agent that applied it, and per
 * viewer the carries its ring subjects made of each change within the phase. Read-only hooks on the prototypes.
 */
const CHANGES = 20;
const APART_MS = 50;
const GIVE_UP_MS = 20_000;
/** The window from the first phase's start over which the sent bytes of all of it are summed. */
const TOTAL_WINDOW_MS = 90_000;

interface Round {
  at: number;
  hints: Hint[];
  /** Carries owed in the table before the round (entries with carried < RING_CARRIES). */
  owed: number;
}

interface Tally {
  /** When the liveness timer offered a round, and when none was made after the agent's own multicast. */
  periods: number[];
  skipped: number[];
  rounds: Round[];
}

interface Internals {
  sync: { s: SyncContext; hints: Hints; announcer: Announcer };
}

export interface CarriesOptions {
  seed: number;
  agents: number;
  losses: number[];
  budget?: number;
}

/** Wraps forRound and the liveness round so that each agent's rounds are recorded; returns the per-agent tallies. */
function hook(site: ScaleSite): { tallies: Map<string, Tally>; undo: () => void } {
  const tallies = new Map<string, Tally>();
  const byHints = new WeakMap<object, Tally>();
  const byAnnouncer = new WeakMap<object, { tally: Tally; s: SyncContext }>();
  const tallyOf = (name: string) => {
    let t = tallies.get(name);
    if (!t) tallies.set(name, (t = { periods: [], skipped: [], rounds: [] }));
    return t;
  };
  const register = () => {
    for (const name of site.live) {
      const sync = (site.agent(name).agent as unknown as Internals).sync;
      byHints.set(sync.hints, tallyOf(name));
      byAnnouncer.set(sync.announcer, { tally: tallyOf(name), s: sync.s });
    }
  };
  // Taken off the prototypes to be called with each instance as `this` (the wrappers below), then put back.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const forRound = Hints.prototype.forRound;
  type Monitors = { heartbeatMonitors(this: Monitors): void; multicastAt: number };
  const proto = Announcer.prototype as unknown as Monitors;
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const heartbeatMonitors = proto.heartbeatMonitors;
  Hints.prototype.forRound = function (this: Hints) {
    const owed = [...(this as unknown as { byName: Map<string, { carried: number }> }).byName.values()].filter(
      (e) => e.carried < RING_CARRIES,
    ).length;
    const hints = forRound.call(this);
    byHints.get(this)?.rounds.push({ at: site.now(), hints, owed });
    return hints;
  };
  proto.heartbeatMonitors = function (this: Monitors) {
    const own = byAnnouncer.get(this);
    const made = own?.tally.rounds.length ?? 0;
    heartbeatMonitors.call(this);
    if (!own) return;
    const now = own.s.c.clock.monotonic();
    own.tally.periods.push(now);
    // A period whose round was not made: after the agent's own multicast (or with no monitor heard yet).
    if (own.tally.rounds.length === made && now - this.multicastAt < own.s.cfg.livenessPeriodMs)
      own.tally.skipped.push(now);
  };
  register();
  return {
    tallies,
    undo: () => {
      Hints.prototype.forRound = forRound;
      proto.heartbeatMonitors = heartbeatMonitors;
    },
  };
}

interface PhaseCount {
  loss: number;
  changes: number;
  p99Ms: number | null;
  undelivered: number;
  lengthMs: number;
  sentPerAgent: number;
  /** Per agent over the phase: liveness periods, rounds skipped after a multicast, rounds made, per second. */
  roundsPerSecond: number;
  skippedShare: number;
  /** Owed carries in a table at a round: median and max. */
  owedMedian: number | null;
  owedMax: number;
  /** Per (change, agent that held it at the phase's end): carries within the phase, and the share short of 6. */
  carriesP1: number | null;
  carriesMedian: number | null;
  shortOfRule: number;
  /** Seconds from the phase's start to a change's 6th carry by an agent (those that made it): p50, p99. */
  sixthP50: number | null;
  sixthP99: number | null;
  /** Per (change, viewer): the carries its 2 subjects made of it within 20 s of the change: p1 and the least. */
  viewerCarriesP1: number | null;
  viewerCarriesMin: number;
  /** Seconds from a change to its first carry by an agent holding it: p50, p99. */
  firstCarryP50: number | null;
  firstCarryP99: number | null;
}

interface Phase {
  loss: number;
  start: number;
  end: number;
  times: number[];
  undelivered: number;
  /** Payload bytes each agent sent a second, mean over agents, from the phase's start to the next's. */
  sentPerAgent: number;
  changes: { origin: string; version: number; since: number; subjects: Map<string, string[]> }[];
}

export async function countCarries(opts: CarriesOptions): Promise<PhaseCount[]> {
  const site = new ScaleSite(opts.seed, 'default', 2, opts.budget ? { heartbeatBudget: opts.budget } : {});
  for (let i = 0; i < opts.agents; i++) {
    await site.start(`agent-${i}`, i + 1);
    await site.sim.clock.advance(10);
  }
  await site.sim.clock.advance(40_000);
  const { tallies, undo } = hook(site);
  try {
    const phases: Phase[] = [];
    const from = { at: site.now(), sent: sent(site), unicast: sent(site, true) };
    for (const loss of opts.losses) phases.push(await phase(site, loss));
    // Every change's 20 s of carries counted, though the next phase began as soon as the last was delivered.
    await site.sim.clock.advance(GIVE_UP_MS + CHANGES * APART_MS);
    site.sim.network.loss = 0;
    // And the bytes of it all over a fixed window: the phases' sent bytes per agent, whatever their pace.
    await site.sim.clock.advance(Math.max(0, from.at + TOTAL_WINDOW_MS - site.now()));
    const total = {
      windowMs: TOTAL_WINDOW_MS,
      sentPerAgent: Math.round((sent(site) - from.sent) / site.live.size),
      unicastPerAgent: Math.round((sent(site, true) - from.unicast) / site.live.size),
    };
    console.log(JSON.stringify(total));
    return phases.map((p) => count(site, p, tallies));
  } finally {
    undo();
    await site.stopAll();
  }
}

/** One change phase as the bench makes it: the next begins when every change is delivered or given up. */
async function phase(site: ScaleSite, loss: number): Promise<Phase> {
  site.sim.network.loss = loss;
  const start = site.now();
  const sentBefore = sent(site);
  const changes: (Phase['changes'][number] & { watch: Watch })[] = [];
  for (let k = 0; k < CHANGES; k++) {
    const live = [...site.live];
    const origin = live[Math.floor(site.sim.random() * live.length)];
    const version = await site.change(origin);
    const subjects = new Map(live.map((v) => [v, aliveRing(internals(site, v).s).subjectsOf(v)]));
    const watch = site.watchVersion(origin, version);
    changes.push({ origin, version, since: watch.since, subjects, watch });
    await site.sim.clock.advance(APART_MS);
  }
  while (changes.some((c) => !c.watch.done()) && site.now() - start < GIVE_UP_MS + CHANGES * APART_MS) {
    await site.sim.clock.advance(10);
    for (const c of changes) if (site.now() - c.watch.since <= GIVE_UP_MS) c.watch.sweep(site.now());
  }
  const times = changes.flatMap((c) => [...c.watch.times.values()].filter((t) => t <= GIVE_UP_MS));
  const undelivered = changes.reduce((n, c) => n + c.watch.missing, 0);
  const seconds = (site.now() - start) / 1000;
  const sentPerAgent = (sent(site) - sentBefore) / site.live.size / seconds;
  return { loss, start, end: site.now(), times, undelivered, sentPerAgent, changes };
}

function count(site: ScaleSite, p: Phase, tallies: Map<string, Tally>): PhaseCount {
  const carries: number[] = [];
  const sixth: number[] = [];
  const first: number[] = [];
  const viewer: number[] = [];
  const carriedBy = (name: string, c: Phase['changes'][number]) =>
    (tallies.get(name)?.rounds ?? []).filter(
      (r) =>
        r.at >= c.since &&
        r.at <= c.since + GIVE_UP_MS &&
        r.hints.some((h) => h.nameHash === fnv1a32(c.origin) && h.version >= c.version),
    );
  for (const c of p.changes) {
    for (const name of site.live) {
      if (name === c.origin) continue;
      const rs = carriedBy(name, c);
      carries.push(rs.length);
      if (rs.length >= RING_CARRIES) sixth.push((rs[RING_CARRIES - 1].at - c.since) / 1000);
      if (rs.length > 0) first.push((rs[0].at - c.since) / 1000);
      const subs = (c.subjects.get(name) ?? []).filter((s) => s !== c.origin);
      viewer.push(subs.reduce((n, s) => n + carriedBy(s, c).length, 0));
    }
  }
  // Rates over the phase and the 20 s after its first change.
  const until = p.start + GIVE_UP_MS;
  let periods = 0;
  let skipped = 0;
  let rounds = 0;
  const owed: number[] = [];
  for (const t of tallies.values()) {
    const rs = t.rounds.filter((r) => r.at >= p.start && r.at < until);
    rounds += rs.length;
    for (const r of rs) owed.push(r.owed);
    periods += t.periods.filter((at) => at >= p.start && at < until).length;
    skipped += t.skipped.filter((at) => at >= p.start && at < until).length;
  }
  return {
    loss: p.loss,
    changes: p.changes.length,
    p99Ms: percentile(p.times, 99),
    undelivered: p.undelivered,
    lengthMs: p.end - p.start,
    sentPerAgent: Math.round(p.sentPerAgent),
    roundsPerSecond: rounds / tallies.size / (GIVE_UP_MS / 1000),
    skippedShare: periods > 0 ? skipped / periods : 0,
    owedMedian: percentile(owed, 50),
    owedMax: Math.max(0, ...owed),
    carriesP1: percentile(carries, 1),
    carriesMedian: percentile(carries, 50),
    shortOfRule: carries.filter((n) => n < RING_CARRIES).length / Math.max(1, carries.length),
    sixthP50: percentile(sixth, 50),
    sixthP99: percentile(sixth, 99),
    viewerCarriesP1: percentile(viewer, 1),
    viewerCarriesMin: Math.min(...viewer),
    firstCarryP50: percentile(first, 50),
    firstCarryP99: percentile(first, 99),
  };
}

/** Payload bytes the live agents sent so far (datagrams and answers served; or unicast datagrams only). */
function sent(site: ScaleSite, unicastOnly = false): number {
  let total = 0;
  for (const name of site.live) {
    const c = site.meter.of(site.addressOf(name));
    total += unicastOnly ? c.unicastSentBytes : c.multicastSentBytes + c.unicastSentBytes + c.requestBytesServed;
  }
  return total;
}

const internals = (site: ScaleSite, name: string) => (site.agent(name).agent as unknown as Internals).sync;

/** `npm run swarm -- --carries`: the count above at one size, a line per phase. */
export async function carriesCommand(opts: CarriesOptions): Promise<void> {
  const rows = await countCarries(opts);
  for (const r of rows) console.log(JSON.stringify(r));
}
