import { RING_CARRIES } from '../../src/sync/hints.js';
import { seededRandom, type Random } from '../../src/util/random.js';
import { percentile } from './scale.js';
import { ScaleSite, type Watch } from './scale-site.js';

/**
 * Sprees: bursts of changes on many origins at once, as the bench's change phase makes them (20 changes within
 * a second, bench/scale/changes.ts). The swarm's draws change one origin at a time, or one origin many times
 * (`burst` in scenario.ts), so a host's subjects never owed more than 8 ring hints and random search never
 * found the hole miss11 fixed (a change dropped from the ring after 2-4 of its 6 carries). Each seed draws a
 * site whose heartbeats are stretched (the ring carries most hints), a loss, 1-3 bursts of 8-40 origins, and
 * churn amid them: an origin of the burst that crashes or restarts with a new incarnation, and another agent
 * crashing (the ring's subjects and monitors change mid-burst). Checked per seed: every change reaches every
 * agent alive throughout within GIVE_UP_MS (as the bench counts), no live agent is lost, each hints table
 * holds at most one entry per peer, owes no carry once the bursts are long over, and idle bytes come back.
 */
export const GIVE_UP_MS = 20_000;
/** How long after the last burst every ring carry must be made. */
const DRAIN_LIMIT_MS = 300_000;
/** Then idle bytes are measured this much later: catch-ups of what hosts missed go on after the ring is idle. */
const AFTER_QUIET_MS = 60_000;

export interface SpreePlan {
  seed: number;
  agents: number;
  /** Every agent's heartbeat budget (B/s on the wire): 36 is that of 1,000 agents; undefined the default. */
  budget: number | undefined;
  loss: number;
  bursts: { origins: number; apartMs: number; churn: 'none' | 'crash' | 'restart'; bystander: boolean }[];
}

export interface SpreeResult {
  plan: SpreePlan;
  deliveries: number;
  undelivered: number;
  p99Ms: number | null;
  falseLosses: number;
  /** The largest hints table of any agent at a burst's end, and the peers that agent held. */
  maxTable: number;
  maxPeers: number;
  /** Ring carries still owed, site-wide, when the idle window after the bursts began. */
  owedAfter: number;
  /** Time from the last burst's end until no agent owed a ring carry (or DRAIN_LIMIT_MS). */
  drainMs: number;
  /** Mean bytes an agent sent per second, idle before the bursts and after them. */
  idleBefore: number;
  idleAfter: number;
  problems: string[];
}

const int = (r: Random, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

export function drawSpree(seed: number): SpreePlan {
  const r = seededRandom(seed ^ 0x5b4ee5);
  const agents = int(r, 24, 64);
  const budget = pick(r, [36, 36, 72, undefined]);
  const loss = pick(r, [0, 0.1, 0.3, 0.3, 0.4]);
  const bursts = Array.from({ length: int(r, 1, 3) }, () => ({
    origins: Math.min(agents - 4, int(r, 8, 40)),
    apartMs: pick(r, [0, 5, 50, 80]),
    churn: pick(r, ['none', 'none', 'crash', 'restart'] as const),
    bystander: r() < 0.3,
  }));
  return { seed, agents, budget, loss, bursts };
}

interface Internals {
  sync: { hints: { byName: Map<string, { carried: number }> }; peers: Map<string, unknown> };
}
const internals = (site: ScaleSite, name: string) => site.agent(name).agent as unknown as Internals;

export async function runSpree(plan: SpreePlan): Promise<SpreeResult> {
  const site = new ScaleSite(plan.seed, 'default', 2, plan.budget ? { heartbeatBudget: plan.budget } : {});
  const r = seededRandom(plan.seed ^ 0x7e57);
  const out: SpreeResult = {
    plan,
    deliveries: 0,
    undelivered: 0,
    p99Ms: null,
    falseLosses: 0,
    maxTable: 0,
    maxPeers: 0,
    owedAfter: 0,
    drainMs: 0,
    idleBefore: 0,
    idleAfter: 0,
    problems: [],
  };
  const times: number[] = [];
  try {
    for (let i = 0; i < plan.agents; i++) {
      await site.start(`agent-${i}`, i + 1);
      await site.sim.clock.advance(10);
    }
    await site.sim.clock.advance(20_000);
    out.idleBefore = await idleSent(site, 10);
    for (const burst of plan.bursts) {
      site.sim.network.loss = plan.loss;
      const res = await runBurst(site, r, burst);
      site.sim.network.loss = 0;
      times.push(...res.times);
      out.deliveries += res.times.length;
      out.undelivered += res.undelivered;
      out.problems.push(...res.missed.slice(0, 3));
      for (const name of site.live) {
        const { hints, peers } = internals(site, name).sync;
        if (hints.byName.size > out.maxTable) [out.maxTable, out.maxPeers] = [hints.byName.size, peers.size];
        if (hints.byName.size > peers.size + 1) out.problems.push(`${name} holds ${hints.byName.size} hints`);
      }
    }
    // Each agent owes at most 6 carries per change, 8 a round; rounds are skipped after a multicast heartbeat
    // (a round one period in 3 at 35 agents), so the ring may take a minute or more to be idle again.
    const since = site.now();
    while (owed(site) > 0 && site.now() - since < DRAIN_LIMIT_MS) await site.sim.clock.advance(5_000);
    out.drainMs = site.now() - since;
    out.owedAfter = owed(site);
    // The hosts that missed changes fetch them for a while after: catch-ups 20-40 s on (spree seed 35).
    await site.sim.clock.advance(AFTER_QUIET_MS);
    out.idleAfter = await idleSent(site, 10);
    out.falseLosses = site.falseLosses;
  } finally {
    await site.stopAll();
  }
  out.p99Ms = percentile(times, 99);
  if (out.undelivered > 0) out.problems.push(`${out.undelivered} deliveries not made within ${GIVE_UP_MS} ms`);
  if (out.falseLosses > 0) out.problems.push(`${out.falseLosses} live agents seen lost`);
  if (out.owedAfter > 0)
    out.problems.push(`${out.owedAfter} ring carries still owed ${DRAIN_LIMIT_MS / 1000} s after the bursts`);
  if (out.idleAfter > out.idleBefore * 1.25 + 5)
    out.problems.push(`idle sent ${out.idleAfter.toFixed(1)} B/s after, ${out.idleBefore.toFixed(1)} before`);
  return out;
}

/** One burst: `origins` distinct live agents change `apartMs` apart, each watched at every other for GIVE_UP_MS. */
async function runBurst(
  site: ScaleSite,
  r: Random,
  burst: SpreePlan['bursts'][number],
): Promise<{ times: number[]; undelivered: number; missed: string[] }> {
  const origins = [...site.live].sort(() => r() - 0.5).slice(0, burst.origins);
  const watches: { origin: string; watch: Watch; version: number }[] = [];
  const gone = new Set<string>();
  for (const [i, origin] of origins.entries()) {
    const version = await site.change(origin);
    watches.push({ origin, watch: site.watchVersion(origin, version), version });
    if (i === Math.floor(origins.length / 2)) await churn(site, r, burst, origins, gone);
    await site.sim.clock.advance(burst.apartMs);
  }
  const first = watches[0].watch.since;
  while (site.now() - first < GIVE_UP_MS + origins.length * burst.apartMs) {
    await site.sim.clock.advance(100);
    for (const { watch } of watches) if (site.now() - watch.since <= GIVE_UP_MS) watch.sweep(site.now());
    if (watches.every(({ watch }) => watch.done())) break;
  }
  // Only viewers alive throughout, of origins alive throughout in one life, count.
  const times: number[] = [];
  let undelivered = 0;
  const missed: string[] = [];
  for (const { origin, watch, version } of watches) {
    if (gone.has(origin)) continue;
    for (const viewer of site.live) {
      if (viewer === origin || gone.has(viewer)) continue;
      const t = watch.times.get(viewer);
      if (t !== undefined && t <= GIVE_UP_MS) times.push(t);
      else {
        undelivered += 1;
        const held = site.agent(viewer).agent.directory.held(origin);
        const holds = held ? `${held.state} ${held.incarnation}/${held.version}` : 'nothing';
        missed.push(
          `${viewer} lacks ${origin} ${version} (changed at ${watch.since} ms; holds ${holds} at ${site.now()})`,
        );
      }
    }
  }
  return { times, undelivered, missed };
}

/** Mid-burst: an origin already changed crashes or restarts (a new incarnation); maybe a bystander crashes. */
async function churn(
  site: ScaleSite,
  r: Random,
  burst: SpreePlan['bursts'][number],
  origins: string[],
  gone: Set<string>,
): Promise<void> {
  if (burst.churn !== 'none') {
    const victim = origins[0];
    gone.add(victim);
    site.live.delete(victim);
    await site.sim.crash(victim);
    if (burst.churn === 'restart') await site.start(victim, site.names.indexOf(victim) + 1);
  }
  if (burst.bystander) {
    const others = [...site.live].filter((n) => !origins.includes(n));
    if (others.length === 0) return;
    const victim = pick(r, others);
    gone.add(victim);
    site.live.delete(victim);
    await site.sim.crash(victim);
  }
}

function owed(site: ScaleSite): number {
  let n = 0;
  for (const name of site.live)
    for (const e of internals(site, name).sync.hints.byName.values()) if (e.carried < RING_CARRIES) n += 1;
  return n;
}

async function idleSent(site: ScaleSite, seconds: number): Promise<number> {
  site.meter.reset();
  await site.sim.clock.advance(seconds * 1000);
  const live = [...site.live];
  const total = live.reduce((t, n) => {
    const c = site.meter.of(site.addressOf(n));
    return t + c.multicastSentBytes + c.unicastSentBytes + c.requestBytesServed;
  }, 0);
  return total / live.length / seconds;
}

/** `npm run swarm -- --spree`: `count` spree seeds from `first`, one at a time, a line each and the failing ones. */
export async function spreeCommand(first: number, count: number): Promise<number> {
  const failing: SpreeResult[] = [];
  const started = Date.now();
  for (let seed = first; seed < first + count; seed++) {
    const res = await runSpree(drawSpree(seed));
    const p = res.plan;
    const shape = p.bursts.map((b) => `${b.origins}/${b.apartMs}ms${b.churn === 'none' ? '' : `+${b.churn}`}`);
    console.log(
      `spree ${seed}: ${p.agents} agents, budget ${p.budget ?? 'default'}, loss ${p.loss}, bursts ${shape.join(' ')}: ` +
        `${res.deliveries} delivered (p99 ${Math.round(res.p99Ms ?? 0)} ms), ${res.undelivered} undelivered, table ≤ ${res.maxTable} ` +
        `(${res.maxPeers} peers), drained in ${res.drainMs / 1000} s, idle ${res.idleBefore.toFixed(1)} -> ${res.idleAfter.toFixed(1)} B/s` +
        (res.problems.length > 0 ? `  FAIL: ${res.problems.join('; ')}` : ''),
    );
    if (res.problems.length > 0) failing.push(res);
  }
  console.log(`${count} spree seeds, ${failing.length} failing, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return failing.length;
}
