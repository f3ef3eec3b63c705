import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSeed } from './swarm/run-seed.js';

/**
 * Swarm seeds drawn with host faults (`--host-faults`: hosts that move or freeze while running) that failed and
 * were triaged to a fix (storm14, hostf15); none is known to fail now.
 * - 607 (`--max-agents 6`, 3 agents), 608 (6), 23001169 (`--max-agents 60`, 7), `liveness`: a viewer frozen for
 *   about a minute while an agent restarted (a new life, in 607 and 23001169 at a new address). Thawed, it probed
 *   the old life where it was, was refused and lost it: a true loss of a life that had ended, which the judge
 *   called a running agent lost (it compared no incarnations). A judge bug (world.ts `ended`).
 * - 475 (6; 2 agents), `stale`: agent-1, late (a lag fault), probed agent-0 at its old address with deadlines its
 *   late loop stretched to 7 s (and 14 s for the second probe) while agent-0 moved during a cut; its heartbeats
 *   from the new address were dropped as `busy` behind that check, and its 12 changes never reached agent-1 in
 *   the 15 s left. A protocol bug: the endpoint asked meanwhile is now probed after the first probe, not only
 *   before a loss (endpoint-proofs.ts `answeredElsewhere`).
 * - 23000539 (`--max-agents 60`, 3 agents), 23000293 (4), 23001526 (4), 295 (6; 5), 914 (6; 4), `stale` (hostf15):
 *   a host frozen 20-58 s while a peer moved and changed. At its resume its catch-up of the mover went to the
 *   address it still held (or a datagram sent from there before the move, read first) with a deadline its late
 *   loop had stretched to 16 s (8 × 2 s), past the 15 s quiet end; the probe that found the mover at its new
 *   address 2 ms to 8 s later left that request waiting. A protocol bug: the catch-up in flight to an endpoint the origin
 *   has left is let go and asked again where it answered (catchup.ts `askedWhereItLeft`; minimised.json class 11).
 * - 23000296 (`--max-agents 60`, 6 agents), `ghost` (hostf15): agent-4, frozen 41 s, resumed holding agent-0 at an
 *   address agent-0 had left before it crashed elsewhere. Its local health was 7 for 10 periods after the stall:
 *   its check probed the vacant address 8 s, then 16 s, and agent-0 was still alive there 15 s after the resume.
 *   A protocol fix: the confirming probe is stretched by the lateness since the first probe only, 8 + 2 s
 *   (LocalHealth.stretch `since`; sync-local-health.test.ts holds the smallest case).
 * - 16160147 (`--max-agents 60`, 2 agents), `liveness` (lost16's search): 607's case with the restarted life held
 *   by name only (incarnation 0: its catch-up timed out before the freeze), so `ended` had no incarnation to
 *   compare. A judge bug: a thawed viewer's window reaches back to its freeze (liveness.ts `frozenSince`).
 * - 32000208 (`--max-agents 200`, 11 agents), 31100045 (200; 5), `thaw-storm` (thaw17): a host frozen 16-37 s
 *   while a peer restarted in place 2-5 times. Thawed, it read their datagrams at once, took each newer life
 *   provisionally and asked each its changes: 3 requests of the same endpoint in 1 ms. In 31100045 it also asked
 *   a crashed peer's changes 5 times in 1.3 s (refused each time, the peer held lost since the first). Protocol
 *   fixes: a provisional life's first catch-up waits one turn of the loop (a newer life read in the same turn
 *   replaces it and asks alone), and a failed catch-up of a peer held lost is not retried (its return asks again).
 * - 31000515 (`--max-agents 200`, 5 agents), `lost-while-running` (thaw17): agent-0, lost by agent-4 in a cut,
 *   moved; agent-4, frozen 55 s, resumed probing its old address again and again (the sweep's rechecks of a lost
 *   peer, 8 s stretched deadlines), its heartbeats from the new address dropped as `busy` behind them. A protocol
 *   fix: a sweep probe left unanswered asks the endpoint heard meanwhile (Peer.elsewhere), as a check does.
 * - 33100216 (`--max-agents 60`, 52 agents), `liveness` (thaw17's search): agent-22, deaf to multicast 7.5-23 s,
 *   heard nothing of agent-48's move at 12.1 s; it lost agent-48 at its old address at 24.5 s (two probes) and
 *   found it at the new one 10 ms later from a summary. The judge's one check after a move counted from the move,
 *   not from when the viewer could hear it: a judge bug (moves.ts `heardMoveAt`). Failed before thaw17's changes.
 * - 18279 (`--max-agents 60`, 3 agents), `stale` (s19): agent-2, frozen 12 s, had never caught agent-0 up (a cut, then
 *   timeouts). At its resume its catch-up of agent-0 met an injected hang, with a deadline the freeze had stretched
 *   to 16 s (8 × 2 s), past the 15 s quiet end; agent-0's heartbeats naming the version it lacked came every second
 *   and its probes were answered, while its loop ran free. A protocol fix: a signal of a version this agent lacks
 *   lets go a catch-up out past the plain deadline plus this agent's stalls since it was sent (catchup.ts `want`,
 *   `outlived`), as a probe's answer already did.
 * - 18378 (`--max-agents 60`, 33 agents), `notice-storm` (s19): agent-30 frozen 10-45 s; its monitors agent-21 and
 *   agent-31, late in a storm until 14.9 s, told the site at 17.2 s on their helpers' verdict (indirect probes), then
 *   again at 26.8 s, the early notice of their own check's first timeout: 8 notices from late agents, over the bound
 *   of 4 (2 monitors, each notice sent twice). A protocol bug: the early notice now waits out TOLD_FOR_PERIODS after
 *   a notice on a helper's verdict, as the check's last notice already did (liveness.ts `toldLately`).
 * - 41000025 (`--max-agents 60`, 5 agents), `thaw-storm` (s20): agent-1 heard nobody for 2.0 s (a 60 % lossy link)
 *   and froze 28.4 s while agent-0 restarted; agent-3 had restarted at a new address 160 ms before the freeze,
 *   unheard. At its resume: 4 checks (agent-3 refused at its old address), 4 catch-ups, a probe of agent-3's new
 *   address, and 4 summary requests: askAround's (after the refusal) and the cut-off exchange's, of agent-4 in the
 *   same millisecond, then a second opinion (a digest and agent-2's summary) because its own view differed from
 *   agent-2's only by agent-3's new address, which agent-4's summary had just named: 13 requests, bound 4 + 8.
 *   Protocol fixes: a summary out to a peer is shared by a second ask (summary-asks.ts `summaryOf`; askAround asks
 *   none while one is out), and the second opinion asks no summary of a neighbour whose digest is the first
 *   summary's view (view-digest.ts `summaryDigest`): 10 counted now (test/sync-thaw-summaries.test.ts).
 * - 2322 (`--max-agents 60`, 34 agents), `thaw-storm` (s23): agent-4 joined, took sets second-hand from its bulk
 *   answer and checked 21 origins with a `set=1` probe; frozen 166 ms after its start for 50 s, none of the checks'
 *   answers was read before its deadline ran. At its resume each peer's liveness probe asked no digest, so its
 *   answer withdrew the set it checked and a catch-up fetched it whole (`since=0`, 16 of them): 42 requests in 2 s,
 *   bound 33 + 8. A protocol bug: every probe of an origin whose second-hand set is unchecked asks for its digest
 *   (Peer.setToCheck, endpoint-proofs.ts `askerOf`): 28 requests now, 1 whole set (a peer that joined meanwhile).
 */
const FIXED = [
  { seed: 607, maxAgents: 6 },
  { seed: 608, maxAgents: 6 },
  { seed: 475, maxAgents: 6 },
  { seed: 23001169, maxAgents: 60 },
  { seed: 23000539, maxAgents: 60 },
  { seed: 23000293, maxAgents: 60 },
  { seed: 23001526, maxAgents: 60 },
  { seed: 295, maxAgents: 6 },
  { seed: 914, maxAgents: 6 },
  { seed: 23000296, maxAgents: 60 },
  { seed: 16160147, maxAgents: 60 },
  { seed: 32000208, maxAgents: 200 },
  { seed: 31100045, maxAgents: 200 },
  { seed: 31000515, maxAgents: 200 },
  { seed: 33100216, maxAgents: 60 },
  { seed: 18279, maxAgents: 60 },
  { seed: 18378, maxAgents: 60 },
  { seed: 41000025, maxAgents: 60 },
  { seed: 2322, maxAgents: 60 },
];

test('host-fault seeds triaged this session hold every invariant', async () => {
  const failing: string[] = [];
  for (const { seed, maxAgents } of FIXED) {
    const r = await runSeed(seed, { maxAgents, hostFaults: true });
    if (!r.ok) failing.push(`${seed}/${maxAgents}: ${r.violations.map((v) => `${v.kind} ${v.detail}`).join('; ')}`);
  }
  assert.equal(failing, []);
});

test.run();
