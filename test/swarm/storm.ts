import { seededRandom } from '../../src/util/random.js';
import type { FaultEvent } from './scenario.js';

type StormFault = Extract<FaultEvent, { kind: 'storm' }>;

/** Sites smaller than this draw no storm: below ~30 agents heartbeats come every period and no notice is sent. */
export const STORM_MIN_AGENTS = 24;

/** Agents one simulated process holds, as the bench puts 50 agents in each of its processes. */
export const AGENTS_PER_PROCESS = 50;

/**
 * The storm on real sockets (the bench's 200-agent cold start): many agents late together, their loops and
 * their answers alike, on a site large enough that notices are sent. From a random stream of its own so
 * that the rest of a seed's schedule (and every recorded regression seed) stays what it was: half the
 * sites of STORM_MIN_AGENTS or more have one, over 40-100 % of the agents, loops stalling 0.3-3 s (busy all
 * along in half of them), for 5-20 s. The agents are dealt round 2-4 processes (more past AGENTS_PER_PROCESS each)
 * whose stalls take turns (two cores shared by several processes).
 */
export function drawStorm(seed: number, names: string[], faultMs: number): FaultEvent[] {
  if (names.length < STORM_MIN_AGENTS) return [];
  const r = seededRandom(seed ^ 0x5707e0);
  if (r() >= 0.5) return [];
  const share = 0.4 + r() * 0.6;
  const agents = names.filter(() => r() < share);
  const stallMs = Math.round(300 + r() * 2700);
  // Busy all along in half of them (turn after turn, as the bench's processes were): the regime where late
  // probers accused live peers before ac23ec8 (with gaps between the stalls, no timeout outlasts a stretch).
  const everyMs = r() < 0.5 ? stallMs : Math.round(stallMs * (1 + r() * 0.5));
  const at = Math.round(r() * faultMs * 0.5);
  const until = Math.min(faultMs, at + Math.round(5000 + r() * 15_000));
  // Two at least: a storm all in one phase stalls every agent together, and none sees another late.
  const processes = Math.max(2 + Math.floor(r() * 3), Math.ceil(agents.length / AGENTS_PER_PROCESS));
  return at < until && agents.length > 0 ? [{ at, until, kind: 'storm', agents, stallMs, everyMs, processes }] : [];
}

/**
 * The stalls a storm puts on `agent`'s loop, as lag faults: its process's stall begins `phase` into each
 * `everyMs` (the processes take turns).
 */
export function stormStalls(
  faults: readonly FaultEvent[],
  agent: string,
): { at: number; until: number; stallMs: number; everyMs: number; phase: number }[] {
  return faults
    .filter((f): f is StormFault => f.kind === 'storm' && f.agents.includes(agent))
    .map((f) => {
      const process = f.agents.indexOf(agent) % f.processes; // dealt round the processes
      return {
        at: f.at,
        until: f.until,
        stallMs: f.stallMs,
        everyMs: f.everyMs,
        phase: (process * f.everyMs) / f.processes,
      };
    });
}

/**
 * Whether a run sent more lost notices than its faults explain. Each departure (a crash, stop, restart, or a peer
 * cut off, gone silent or late by a fault) may draw a notice from each of its MONITORS (2), each sent twice; so
 * may one storm, for a loss its late probes find true. Late probers that accuse live peers send far more:
 * before ac23ec8 a storm of 40 agents in two processes of 1.5 s turns sent 32 here, the bench's 200-agent storm
 * on real sockets 24,106. So the storm's own (late) agents get that bound; an on-time monitor of a stormed agent
 * that stops answering for seconds may rightly tell the site, so on-time agents also get one trouble per stormed
 * agent (seed 14001739: 5 on-time monitors of a storm over 78 agents, 10 notices).
 */
export function noticeExcess(
  scenario: { agents: unknown[]; faults: readonly FaultEvent[] },
  sent: Record<string, number>,
): string | undefined {
  const troubles = ['crash', 'stop', 'restart', 'link', 'partition', 'cut', 'rpc', 'lag', 'storm'];
  // A partition cuts every agent of one side off from the other: any of them may be lost.
  const troubled = scenario.faults.reduce(
    (n, f) => n + (f.kind === 'partition' ? scenario.agents.length : troubles.includes(f.kind) ? 1 : 0),
    0,
  );
  const stormed = new Set(scenario.faults.flatMap((f) => (f.kind === 'storm' ? f.agents : [])));
  const late = Object.entries(sent).reduce((n, [name, k]) => n + (stormed.has(name) ? k : 0), 0);
  const onTime = Object.values(sent).reduce((a, b) => a + b, 0) - late;
  const [lateBound, onTimeBound] = [troubled, troubled + stormed.size].map((t) => NOTICES_PER_TROUBLE * t);
  if (late > lateBound) return `${late} lost notices from late agents, over the bound of ${lateBound}`;
  if (onTime > onTimeBound) return `${onTime} lost notices from on-time agents, over the bound of ${onTimeBound}`;
  return undefined;
}

/** MONITORS (2) monitors, each multicasting its notice twice. */
const NOTICES_PER_TROUBLE = 4;
