import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { changeTiming } from '../bench/scale/change-timing.js';
import type { ChangeTimings } from '../bench/scale/site-worker.js';

/**
 * The scale step's change figure is read by the bench through each child's IPC reports; the children's own
 * stamps say where the time went. Two children of 3 agents each; agent-0 makes its change at t = 998 ms and
 * announces version 2 at t = 1000 ms: the first child's viewers hold it 1 and 4 ms after the announcement (one
 * loop handles its copies in turn), the second's 2 and 3 ms after; an older version's event, a later change's
 * and the origin's own directory event do not count.
 */
const names = ['agent-0', 'agent-1', 'agent-2', 'agent-3', 'agent-4', 'agent-5'];

test('a change is timed from its origin to each viewer, and the copies one loop handles are spread apart', () => {
  const first: ChangeTimings = {
    sent: [[0, 2, 998, 1000]],
    applied: [
      [0, 'agent-0', 2, 999], // the origin's own directory: no viewer
      [1, 'agent-0', 1, 990],
      [1, 'agent-0', 2, 1001],
      [2, 'agent-0', 2, 1004],
      [2, 'agent-0', 3, 1500],
    ],
  };
  const second: ChangeTimings = {
    sent: [],
    applied: [
      [3, 'agent-0', 2, 1002],
      [4, 'agent-0', 2, 1003],
      [5, 'agent-0', 2, 1003],
    ],
  };
  first.applied.push([0, 'agent-1', 2, 1007]); // another origin: not this change
  const t = changeTiming(
    [
      { from: 0, to: 3, t: first },
      { from: 3, to: 6, t: second },
    ],
    names,
  );
  assert.is(t.pairs, 5, 'agent-1, agent-2 in the first child; agent-3, 4, 5 in the second');
  assert.is(t.appliedP99Ms, 6, 'from the change made (998) to the last viewer holding it (1004)');
  assert.is(t.fromSentP99Ms, 4, 'from the announcement sent (1000)');
  assert.is(t.reloadP50Ms, 2);
  assert.is(t.firstInChildP50Ms, 1, 'the first viewer of each child: 1 and 2 ms (nearest rank)');
  assert.is(t.spreadInChildP99Ms, 3, '1 to 4 ms in the first child, 2 to 3 in the second');
});

test('a pair slower than 20 ms is counted, and whether a GC pause of its child overlapped it', () => {
  // agent-0 makes version 1 at 0 ms; the first child's viewer holds it at 30 ms, through a 25 ms pause from 2 ms;
  // the second child's viewers at 25 ms (no pause there) and 5 ms.
  const first: ChangeTimings = { sent: [[0, 1, 0, 1]], applied: [[1, 'agent-0', 1, 30]], gc: [[2, 25]] };
  const second: ChangeTimings = {
    sent: [],
    applied: [
      [3, 'agent-0', 1, 25],
      [4, 'agent-0', 1, 5],
    ],
    gc: [[40, 3]],
  };
  const t = changeTiming(
    [
      { from: 0, to: 3, t: first },
      { from: 3, to: 6, t: second },
    ],
    names,
  );
  assert.is(t.pairs, 3);
  assert.is(t.slowPairs, 2, '30 and 25 ms');
  assert.is(t.slowPairsInGc, 1, "only the first child's pause lies between the change and its viewer");
  assert.equal([t.gcPauses, t.gcMaxMs, t.gcTotalMs], [2, 25, 28]);
});

test('the pauses that were scavenges of the young generation are told apart (gc16: --max-semi-space-size)', () => {
  // agent-0 makes version 1 at 0 ms: agent-1 holds it at 30 ms, through a 25 ms scavenge from 2 ms; agent-3 at
  // 4 ms, past a 1 ms scavenge (not slow). agent-4 makes version 1 at 100 ms: agent-2 holds it at 140 ms, through
  // a 12 ms mark-compact from 120 ms.
  const first: ChangeTimings = {
    sent: [[0, 1, 0, 1]],
    applied: [
      [1, 'agent-0', 1, 30],
      [2, 'agent-4', 1, 140],
    ],
    gc: [
      [2, 25, true],
      [120, 12, false],
    ],
  };
  const second: ChangeTimings = { sent: [[4, 1, 100, 101]], applied: [[3, 'agent-0', 1, 4]], gc: [[1, 1, true]] };
  const t = changeTiming(
    [
      { from: 0, to: 3, t: first },
      { from: 3, to: 6, t: second },
    ],
    names,
  );
  assert.equal([t.slowPairs, t.slowPairsInGc, t.slowPairsInMinorGc], [2, 2, 1], 'agent-2 waited in a mark-compact');
  assert.equal([t.gcPauses, t.gcMaxMs, t.gcTotalMs], [3, 25, 38]);
  assert.equal(t.gcMinor, { pauses: 2, maxMs: 25, totalMs: 26 });
});

test.run();
