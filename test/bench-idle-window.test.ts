import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SenderTally } from '../bench/scale/group-listener.js';
import { announcedIntervalMs, idleWindowMs, IDLE_SECONDS, pastTheWake } from '../bench/scale/idle.js';

/**
 * The scale step's idle window is timed by the site's announced multicast interval (idle21): it opens 2 intervals
 * after the cold start, past the wake of the cold start's redrawn waits, and lasts 1.5 intervals, as the
 * simulator's. Before, it opened 20-90 s after convergence at 200 agents (interval ~77 s) and lasted 15 s.
 */
function heard(intervals: (number | undefined)[], markedMsAgo = 0) {
  const bySender = new Map<string, SenderTally>(
    intervals.map((intervalMs, i) => [`agent-${i}`, { datagrams: 1, types: { heartbeat: 1 }, intervalMs }]),
  );
  const markedAt = performance.now() - markedMsAgo;
  const sinceMark = () => performance.now() - markedAt;
  return { senders: () => ({ ms: sinceMark(), bySender }), sinceMark };
}

test('the window lasts 1.5 announced intervals at 200 agents, 15 s where the interval is not stretched', () => {
  assert.is(announcedIntervalMs(heard([76_000, 77_000, 78_000])), 77_000);
  assert.is(idleWindowMs(heard([76_000, 77_000, 78_000])), 115_500);
  assert.is(idleWindowMs(heard([2_700])), IDLE_SECONDS * 1000);
  // herald-unscaled and SWIM announce no interval.
  assert.is(announcedIntervalMs(heard([undefined])), undefined);
  assert.is(idleWindowMs(heard([])), IDLE_SECONDS * 1000);
});

test('the window opens 2 announced intervals after the mark, not before', async () => {
  const t0 = performance.now();
  await pastTheWake(heard([100, 100], 50));
  const waited = performance.now() - t0;
  assert.ok(waited >= 140 && waited < 1000, `waited ${waited.toFixed(0)} ms, 150 due`);
  const t1 = performance.now();
  await pastTheWake(heard([100], 500));
  assert.ok(performance.now() - t1 < 20, 'already past the wake');
  await pastTheWake(heard([]));
});

test.run();
