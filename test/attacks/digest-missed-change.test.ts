import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FaultEvent } from '../swarm/scenario.js';
import { CUT, cutBoth, farPeer, LATE_LOOP, ring, runCut, SUBJECT, VIEWER } from './late-loop-site.js';

/**
 * attack17, surface 1 (ghost14's digest compare). The digest covers who is held alive, by name and life
 * (view-digest.ts), not the versions each holds: in a late loop's real cut in which a cut-off peer changed its
 * devices (and nothing crashed) the two views are digest-equal and the compare asks no summary. Is the change
 * still held by agent-3 by the end (the swarm's `stale`)? Held (attack17): the ring's hints from the peers it was
 * not cut off from carry it. rejoin-late-loop-ghost's schedule, with a change instead of the crash.
 */
const CHANGER = farPeer();
const cuts = [SUBJECT, CHANGER, ...ring.monitorsOf(CHANGER)].flatMap((other) => cutBoth(other, VIEWER));

async function violations(lag: FaultEvent[]): Promise<unknown[]> {
  const change: FaultEvent = { at: CUT + 2000, kind: 'change', agent: CHANGER, seed: 7 };
  return (await runCut([...lag, ...cuts, change])).violations;
}

test('on time: a change made during the cut is held by agent-3 after the heal (control)', async () => {
  assert.equal(await violations([]), []);
});

test('late loop: a change made during the cut is held by agent-3 after the heal', async () => {
  assert.equal(await violations([LATE_LOOP]), []);
});

test.run();
