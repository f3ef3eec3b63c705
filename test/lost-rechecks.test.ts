import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  earlyAsker,
  firstRechecker,
  LATE_RECHECK_PERIODS,
  lateRecheckPeriods,
  LostRechecks,
  RECHECK_PERIODS,
  RECHECK_SPREAD_MAX,
  RECHECK_WAIT_PERIODS,
  RECHECKED_LOSSES,
  RECHECKERS,
  RECHECKS_PER_PERIOD,
  RELOST_PERIODS,
  relostRecheckPeriods,
} from '../src/sync/lost-rechecks.js';
import { Directory } from '../src/directory/directory.js';
import { DirectoryPeerService, helloOf } from '../src/sync/peer-service.js';
import type { Peer } from '../src/sync/peer-table.js';
import { helloQuery, type Asker } from '../src/transport/transport.js';
import { FakeClock } from '../src/util/clock.js';

const PERIOD = 1000;
const peer = (name: string, incarnation = 1) => ({ name, replica: { incarnation } }) as unknown as Peer;
/** A subject agent-0 is neither a first rechecker of nor an early asker for, at the moments these tests lose it. */
const lateSubject = (names: string[]): string =>
  names.find(
    (n) =>
      n !== 'agent-0' &&
      !firstRechecker('agent-0', n, names) &&
      [0, 15_000, 16_000].every((at) => !earlyAsker('agent-0', n, at, names.length)),
  )!;

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

test('s18: a late viewer that loses a peer again soon after asks early, then on its late recheck', () => {
  const names = Array.from({ length: 201 }, (_, i) => `agent-${i}`);
  const r = new LostRechecks(PERIOD, 'agent-0', () => new Set(names.slice(1)));
  const subject = peer(lateSubject(names));
  const late = (at: number) => at + lateRecheckPeriods('agent-0', subject.name, 201) * PERIOD;
  r.lost(subject, 0, true);
  assert.is(r.dueAt(subject, 0, true), late(0), 'a first loss: late');
  const again = (RELOST_PERIODS - 1) * PERIOD; // revived (its answer, a refutation) and lost again
  r.lost(subject, again, true);
  const early = again + relostRecheckPeriods('agent-0', subject.name, 201) * PERIOD;
  assert.is(r.dueAt(subject, again, true), early, 'lost again: early');
  assert.ok(early < late(again), 'before its late recheck');
  r.sent(subject, early);
  assert.is(r.dueAt(subject, again + 3000, true), late(again), 'then its late recheck');
  r.sent(subject, late(again));
  assert.is(r.dueAt(subject, late(again), true), Infinity, 'and no more');
  const longAfter = again + RELOST_PERIODS * PERIOD;
  r.lost(subject, longAfter, true);
  assert.is(r.dueAt(subject, longAfter, true), late(longAfter), 'lost long after the last loss: late again');
  r.lost(peer(subject.name, 2), longAfter + 1000, true);
  assert.ok(r.dueAt(peer(subject.name, 2), longAfter + 1000, true) > longAfter + 3000, 'another life: a first loss');
});

test('burst17: of 200 viewers, RECHECKERS recheck a loss twice; the others once, spread over the site size', () => {
  const names = Array.from({ length: 201 }, (_, i) => `agent-${i}`);
  for (const subject of ['agent-7', 'agent-150']) {
    const viewers = names.filter((n) => n !== subject);
    const first = viewers.filter((v) => firstRechecker(v, subject, names));
    assert.is(first.length, RECHECKERS, `${subject}: the same few, whoever computes it`);
    const late = viewers.filter((v) => !first.includes(v)).map((v) => lateRecheckPeriods(v, subject, 201));
    const spread = 201 / RECHECKS_PER_PERIOD;
    assert.ok(late.every((p) => p >= LATE_RECHECK_PERIODS && p < LATE_RECHECK_PERIODS + spread));
    // About RECHECKS_PER_PERIOD a period: no period draws more than twice that.
    const perPeriod = new Map<number, number>();
    for (const p of late) perPeriod.set(Math.floor(p), (perPeriod.get(Math.floor(p)) ?? 0) + 1);
    assert.ok(
      Math.max(...perPeriod.values()) <= 2 * RECHECKS_PER_PERIOD,
      `${Math.max(...perPeriod.values())} a period`,
    );
  }
  assert.ok(lateRecheckPeriods('a', 'b', 100_000) < LATE_RECHECK_PERIODS + RECHECK_SPREAD_MAX, 'capped');
  assert.ok(LATE_RECHECK_PERIODS + RECHECK_SPREAD_MAX < RECHECK_WAIT_PERIODS, 'within the wait');
  const r = new LostRechecks(PERIOD, 'agent-0', () => new Set(names.slice(1)));
  const subject = peer(lateSubject(names));
  r.lost(subject, 0, true);
  const due = r.dueAt(subject, 0, true);
  assert.is(due, lateRecheckPeriods('agent-0', subject.name, 201) * PERIOD, 'a late viewer asks once, later');
  r.sent(subject, due);
  assert.is(r.dueAt(subject, due, true), Infinity, 'and only once');
});

test('burst17: a hello that holds the asked life lost says so (lost=I); a malformed one is not passed on', () => {
  const directory = new Directory({ clock: new FakeClock() }, { site: 's' });
  const asked: Asker[] = [];
  const service = new DirectoryPeerService({
    directory,
    identity: helloOf({ name: 'a', site: 's', incarnation: 5 }, () => 1, directory),
    onAsked: (asker) => asked.push(asker),
  });
  const from = { address: '10.0.0.2', port: 0 };
  service.handle('hello', helloQuery(false, { name: 'b', incarnation: 3, port: 7771, lost: 5 }), from);
  assert.is(asked.at(-1)?.lost, 5, 'the life held lost, for the asked agent to refute');
  for (const bad of ['0', '-1', 'x', '1.5']) {
    const q = helloQuery(false, { name: 'b', incarnation: 3, port: 7771 });
    q.set('lost', bad);
    service.handle('hello', q, from);
    assert.is(asked.at(-1)?.lost, undefined, `lost=${bad}`);
  }
});

test.run();
