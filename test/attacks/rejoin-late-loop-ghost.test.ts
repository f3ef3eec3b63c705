import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FaultEvent } from '../swarm/scenario.js';
import { lostAfter } from '../swarm/trace.js';
import { CUT, cutBoth, farPeer, HEAL, LATE_LOOP, ring, runCut, SUBJECT, VIEWER } from './late-loop-site.js';

/**
 * attack15, surface 1 (idle13's Rejoin reasons). A partial partition cuts agent-3 off from its ring subject and
 * from the two monitors of a peer that crashes during the cut: agent-3 misses their lost notices, and only a view
 * exchange at the heal makes it check the crashed peer (docs/protocol.md, *Rejoin*). Since idle13 a timeout of
 * the subject counts as a cut-off only if agent-3's Lifeguard local health was 0: with its loop a little late (a
 * timer over a third of a period late in the last 10 periods) the real 15 s cut is no evidence, no exchange is
 * made at the heal, and agent-3 holds the crashed peer alive until its backstop (5 of its stretched intervals:
 * minutes at 200 agents). docs/protocol.md listed "a cut between two agents while one's loop is late is no
 * longer seen by that one (the other side, and the gap rule, still see it)": the other side's exchange does
 * not check agent-3's peers, and agent-3 heard the rest of the site all along (no gap), so nothing repaired it
 * (ghost14: a digest compare with one neighbour does now, below).
 *
 * 40 agents with the heartbeat intervals of 200 (stretched-site.ts), as test/sync-rejoin-reasons.test.ts.
 */
/** A peer far from agent-3 on the ring whose monitors are too: it crashes while agent-3 is cut off from them. */
const CRASHED = farPeer();
const MONITORS = ring.monitorsOf(CRASHED);

/** Both ways between agent-3 and each of the subject, the crashed peer and its monitors, CUT to HEAL. */
const cuts = [SUBJECT, CRASHED, ...MONITORS].flatMap((other) => cutBoth(other, VIEWER));

/**
 * RELAYED: since notice15's relayed notices (src/sync/notice-relay.ts) agent-3 hears the loss during the cut from
 * its untouched ring neighbours, which took it from the monitors' notices, and its own probe through the cut goes
 * unanswered: it loses the crashed peer 2-3 s after the crash, before the heal (-10.8 s on time, -10.0 s late), so these runs no
 * longer reach Rejoin's heal path; they still hold that no ghost outlives the heal by 3 s.
 */
/** When agent-3 lost the crashed peer, in ms after the heal, and the run's violations (a ghost at the end). */
async function run(lag: FaultEvent[]): Promise<{ lost: number[]; violations: unknown[] }> {
  const result = await runCut([...lag, ...cuts, { at: CUT + 2000, kind: 'crash', agent: CRASHED }]);
  return { lost: lostAfter(result.trace, VIEWER, CRASHED, HEAL), violations: result.violations };
}

test('on time: agent-3 cut off from a crashed peer’s monitors loses it soon after the heal (control)', async () => {
  const { lost, violations } = await run([]);
  console.log(
    `  ${VIEWER} (subject ${SUBJECT}) lost ${CRASHED} (monitors ${MONITORS.join(', ')}) at ${String(lost)} ms`,
  );
  assert.ok(lost.length === 1 && lost[0] < 3000, `lost ${String(lost)} ms after the heal`); // or before it: RELAYED
  assert.equal(violations, []);
});

/**
 * Known failing before ghost14 (attack15): the same cut while agent-3's loop stalls 1 s every 3 s (test/sync-rejoin-
 * reasons's late loop): its probes of the subject time out with local health above 0, so the heal made no exchange
 * and agent-3 held the crashed peer alive until its backstop (277 s). Before idle13 (2ab1e49) a peer heard again
 * after any failed probe (`reset`) made the exchange, and sync-rejoin-reasons' first case (no summary for exactly
 * this schedule without the crash) could not hold. Now a peer unreached only while the loop was late, heard again,
 * makes agent-3 compare a digest of who it holds alive with the subject's (src/sync/view-digest.ts): here they
 * differ (the subject holds the crashed peer lost), so the summary is asked; there they agree, so none is.
 */
test('agent-3, its loop late, cut off from a crashed peer’s monitors, loses it after the heal', async () => {
  const { lost, violations } = await run([LATE_LOOP]);
  console.log(`  late loop: ${VIEWER} lost ${CRASHED} at ${String(lost)} ms after the heal`);
  assert.ok(lost.length === 1 && lost[0] < 3000, `lost ${String(lost)} ms after the heal`); // or before it: RELAYED
  assert.equal(violations, []);
});

test.run();
