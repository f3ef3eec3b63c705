import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FaultEvent } from '../swarm/scenario.js';
import { lostAfter } from '../swarm/trace.js';
import { CUT, cutBoth, farPeer, HEAL, LATE_LOOP, ring, runCut, SUBJECT, VIEWER } from './late-loop-site.js';

/**
 * attack17, surface 1 (ghost14's digest compare). rejoin-late-loop-ghost's schedule (agent-3 cut off for 15 s
 * from its subject, from a peer that crashes meanwhile and from that peer's monitors), but the subject, the peer
 * the compare asks first, was cut off from the crashed peer and its monitors too (a partition in three parts:
 * agent-3, its subject, the crashed peer's side). The subject missed the notices as agent-3 did and holds the
 * same ghost: the two digests agree. ghost14 stopped at the first neighbour that answered, so no summary was asked
 * and agent-3 held the crashed peer alive until its backstop (5 intervals of a site of 200: minutes). Now the
 * compare asks the next ring neighbour as well when the first agrees (view-compare.ts).
 *
 * The subject itself still holds the ghost: it was cut off from no peer it probes, so nothing but its backstop
 * repairs it (docs/protocol.md, *Liveness*: the backstop, for a host that missed every notice).
 */
const CRASHED = farPeer(ring.monitorsOf(SUBJECT));
const MONITORS = ring.monitorsOf(CRASHED);
const cuts: FaultEvent[] = [
  ...[SUBJECT, CRASHED, ...MONITORS].flatMap((o) => cutBoth(o, VIEWER)),
  ...[CRASHED, ...MONITORS].flatMap((o) => cutBoth(o, SUBJECT)),
];

/**
 * RELAYED: since notice15's relayed notices (src/sync/notice-relay.ts) agent-3 hears the loss during the cut from
 * its untouched ring neighbours, which took it from the monitors' notices, and its own probe through the cut goes
 * unanswered: it loses the crashed peer 2-3 s after the crash, before the heal (-10.8 s on time, -10.0 s late), so these runs no
 * longer reach Rejoin's heal path; they still hold that no ghost outlives the heal by 3 s.
 */
/** When agent-3 lost the crashed peer (ms after the heal), and the ghosts left at agent-3 at the end. */
async function run(lag: FaultEvent[]): Promise<{ lost: number[]; ghosts: unknown[] }> {
  const result = await runCut([...lag, ...cuts, { at: CUT + 2000, kind: 'crash', agent: CRASHED }]);
  const ghosts = result.violations.filter((v) => v.viewer === VIEWER);
  return { lost: lostAfter(result.trace, VIEWER, CRASHED, HEAL), ghosts };
}

test('a late loop whose first neighbour holds the same ghost still drops the crashed peer after the heal', async () => {
  const { lost, ghosts } = await run([LATE_LOOP]);
  console.log(`  late loop: ${VIEWER} (subject ${SUBJECT}) lost ${CRASHED} at ${String(lost)} ms after the heal`);
  assert.ok(lost.length === 1 && lost[0] < 3000, `lost ${String(lost)} ms after the heal`); // or before it: RELAYED
  assert.equal(ghosts, []);
});

/**
 * attack17: the same cut with agent-3's loop on time. Its timeouts of the subject are a cut-off, so the heal makes a
 * view exchange (rejoin.ts), not a compare; the exchange asked the revived peer's summary first and stopped at the
 * first that answered: the subject's, which holds the ghost too, so agent-3 checked nothing and held the crashed
 * peer until its backstop (not lost within the run before). Fixed (notice15): a summary that names nothing to check
 * is followed by the next neighbour's digest, and its summary if that differs (Rejoin.secondOpinion): lost 1,008 ms
 * after the heal. The subject itself still holds the ghost (docs/protocol.md, *Rejoin*): this asserts agent-3's.
 */
const ON_TIME = 'on time: agent-3 whose subject holds the same ghost drops the crashed peer after the heal';
async function onTime(): Promise<void> {
  const { lost, ghosts } = await run([]);
  console.log(`  on time: ${VIEWER} lost ${CRASHED} at ${String(lost)} ms after the heal`);
  assert.ok(lost.length === 1 && lost[0] < 3000, `lost ${String(lost)} ms after the heal`); // or before it: RELAYED
  assert.equal(ghosts, []);
}
test(ON_TIME, onTime);

test.run();
