import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../src/sync/ring.js';
import { runScenario } from './swarm/run-seed.js';
import { multicastSite, type FaultEvent } from './swarm/scenario.js';
import { budgetStretchedLike } from './swarm/stretched-site.js';
import { lostAfter, summariesAsked } from './swarm/trace.js';

/**
 * A view exchange on a peer heard again (src/sync/rejoin.ts, `unreachable-heard`) is for two agents that were
 * cut off from each other: a partition of part of the site (test/sync-rejoin.test.ts). In the bench's loaded
 * 200-agent cold start most were not: a probe timed out because the prober's own loop was late, or because the
 * peer's was, and its confirming probe then answered; a minute later ~14 agents each asked an 18 kB summary
 * held back by the minute's bound, inside the idle window (issue 18, idle12). None of these asks a summary now.
 *
 * 40 agents with the heartbeat intervals of 200 (stretched-site.ts): agent-3 hears its ring subject only by the
 * subject's unicast heartbeats, as at 200, and nothing but the cases below makes it ask a summary.
 */
const SITE = 40;
const ASKER = 'agent-3';
const names = multicastSite(SITE).map((a) => a.name);
/** The peer agent-3 watches on the ring: it probes it when its heartbeats stop. */
const SUBJECT = new Ring(names).subjectsOf(ASKER)[0];

async function run(faults: FaultEvent[], faultMs: number, quietMs: number): Promise<string[]> {
  const result = await runScenario(
    {
      seed: 21,
      heartbeatMs: 1000,
      agents: multicastSite(SITE),
      heartbeatBudget: budgetStretchedLike(SITE, 200),
      faultMs,
      quietMs,
      faults,
    },
    true,
  );
  return result.trace!;
}

/** Both ways between agent-3 and its subject, datagrams and requests, from `at` to `until`. */
const cut = (at: number, until: number): FaultEvent[] => [
  { at, until, kind: 'cut', from: SUBJECT, to: ASKER },
  { at, until, kind: 'cut', from: ASKER, to: SUBJECT },
];

/**
 * The subject is busy from `at` for `ms`: its loop stalls (no heartbeat goes out) and its answers come 1.5 s late,
 * so a first probe (1 s) times out and the confirming one (2 s) answers; its heartbeats resume at the stall's end.
 */
const busySubject = (at: number, ms: number): FaultEvent[] => [
  { at, until: at + ms, kind: 'lag', to: SUBJECT, stallMs: ms, everyMs: ms },
  { at, until: at + 6000, kind: 'rpc', to: SUBJECT, fault: 'late', share: 1, delayMs: 1500 },
];

/** Requests agent-3 made of its subject that ended so (`timeout`, or `200` for an answer). */
const probes = (trace: readonly string[], outcome: string): number =>
  trace.filter((l) => new RegExp(`request ${ASKER} -> ${SUBJECT} hello\\?\\S*: ${outcome}`).test(l)).length;

test('a probe that timed out while this agent’s own loop was late is no cut-off: no summary when the peer is heard', async () => {
  // agent-3's loop stalls 1 s in 3 (Lifeguard's local health above 0) while it cannot reach its subject: its
  // probes time out, it loses the subject on its own late timeouts, and hears it again at 30 s.
  const lag: FaultEvent = { at: 10_000, until: 45_000, kind: 'lag', to: ASKER, stallMs: 1000, everyMs: 3000 };
  const trace = await run([lag, ...cut(15_000, 30_000)], 45_000, 15_000);
  assert.ok(probes(trace, 'timeout') > 0, 'agent-3’s probes of its subject timed out');
  assert.ok(lostAfter(trace, ASKER, SUBJECT, 0).length > 0, 'agent-3 lost its subject on them');
  // From the heal on (30 s). Before it, the view votes may ask one: agent-3 holds its subject lost on its own late
  // timeouts while its voters hold it alive, and a voter's heartbeat names another digest (29 s at this seed, once
  // the site's heartbeats flowed after the cold start; they fell silent for half an interval before phase22).
  assert.is(summariesAsked(trace, ASKER, 30_000), 0, 'agent-3 asked for summaries');
  // Its views compared with a neighbour's at the heal instead (rejoin.ts): they agree, nothing was missed. From
  // the heal on: the join's own compares (join-view.ts) and the votes' came before it.
  const compares = trace.filter((l) => {
    const m = new RegExp(`^\\s*([\\d.]+)s request ${ASKER} -> \\S+ hello\\?\\S*digest=1`).exec(l);
    return m !== null && Number(m[1]) * 1000 >= 30_000;
  });
  assert.ok(compares.length > 0 && compares.length <= 2, `agent-3 compared views ${compares.length} times`);
});

test('a probe that timed out and a confirming probe that answered are no cut-off: no summary', async () => {
  // Busy from 30 s to 36 s: a probe times out at ~33 s, the confirming one answers at ~34.5 s, and its
  // heartbeats come again at 36 s. Before, that answer asked the subject's summary (and, unanswered, again).
  const trace = await run(busySubject(30_000, 6000), 40_000, 15_000);
  assert.ok(probes(trace, 'timeout') > 0, 'a probe of the subject timed out');
  assert.ok(probes(trace, '200 after 1500 ms') > 0, 'a later one answered');
  assert.is(summariesAsked(trace, ASKER, 15_000), 0, 'agent-3 asked for summaries');
});

test('an exchange held back whose peer answered a probe sent before it was heard again is not made', async () => {
  // A true partition of the two (15-23 s): agent-3 loses its subject and exchanges at the heal, which spends the
  // minute's bound. From 30 s the subject is busy for 4 s: a probe times out at ~33 s, its heartbeat is heard at
  // 34 s while the confirming probe is under way (an exchange, held back until ~84 s), and that probe answers at
  // ~34.5 s: the two were not cut off. Before, the held-back exchange asked a summary at ~84 s.
  const faults: FaultEvent[] = [...cut(15_000, 23_000), ...busySubject(30_000, 4000)];
  const trace = await run(faults, 40_000, 50_000);
  const atHeal = summariesAsked(trace, ASKER, 15_000) - summariesAsked(trace, ASKER, 25_000);
  assert.is(atHeal, 1, 'the partition’s heal: one summary');
  assert.ok(probes(trace, '200 after 1500 ms') > 0, 'a probe of the busy subject answered');
  assert.is(summariesAsked(trace, ASKER, 25_000), 0, 'agent-3 asked for summaries after the heal');
});

test.run();
