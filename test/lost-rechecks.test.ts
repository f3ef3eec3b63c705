import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LostRechecks, RECHECK_PERIODS, RECHECK_WAIT_PERIODS, RECHECKED_LOSSES } from '../src/sync/lost-rechecks.js';
import type { Peer } from '../src/sync/peer-table.js';

const PERIOD = 1000;
const peer = (name: string, incarnation = 1) => ({ name, replica: { incarnation } }) as unknown as Peer;

test('a loss on timeouts is checked again twice, backed off, and never after', () => {
  const r = new LostRechecks(PERIOD);
  const a = peer('a');
  r.lost(a, 0, true);
  assert.is(r.dueAt(a, 0, true), RECHECK_PERIODS[0] * PERIOD);
  r.sent(a, 2000);
  assert.is(r.dueAt(a, 2000, true), 2000 + RECHECK_PERIODS[1] * PERIOD);
  r.sent(a, 8000);
  assert.is(r.dueAt(a, 8000, true), Infinity, 'two rechecks a loss');
});

test('a refusal or a believed word is not checked again; a new life drops the old loss', () => {
  const r = new LostRechecks(PERIOD);
  r.lost(peer('a'), 0, false);
  assert.is(r.dueAt(peer('a'), 5000, true), Infinity);
  r.lost(peer('b'), 0, true);
  assert.is(r.dueAt(peer('b', 2), 5000, true), Infinity, 'another life of it: its own heartbeat tells');
});

test('a recheck waits while this agent is late, up to the wait; the waiting losses are bounded', () => {
  const r = new LostRechecks(PERIOD);
  const a = peer('a');
  r.lost(a, 0, true);
  assert.is(r.dueAt(a, 3000, false), 4000, 'late: a period later');
  assert.is(r.dueAt(a, RECHECK_WAIT_PERIODS * PERIOD, false), Infinity, 'past the wait: its heartbeat tells');
  for (let i = 0; i <= RECHECKED_LOSSES; i++) r.lost(peer(`p${i}`), i, true);
  assert.is(r.dueAt(peer('p0'), 100, true), Infinity, 'the oldest out');
  assert.is(r.dueAt(peer('p1'), 100, true), 1 + RECHECK_PERIODS[0] * PERIOD);
});

test.run();
