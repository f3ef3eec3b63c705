import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ASKED_REFUTE_PERIODS, ASKERS_WINDOW_PERIODS, LostAskers } from '../src/sync/lost-askers.js';

const PERIOD = 1000;

test('a lone asker draws no multicast; a second within the window does, at most once in a few periods', () => {
  const a = new LostAskers(PERIOD);
  for (let t = 0; t < 10_000; t += 100) assert.is(a.asked('m', t, false), false, 'one asker, however often');
  assert.is(a.asked('n', 10_000, false), true, 'a second asker within the window');
  assert.is(a.asked('o', 10_500, false), false, 'a third, just after the refutation');
  const next = 10_000 + ASKED_REFUTE_PERIODS * PERIOD;
  assert.is(a.asked('m', next - 1, false), false, 'within the gap');
  assert.is(a.asked('n', next, false), true, 'the gap passed, two askers within the window');
  const later = next + ASKERS_WINDOW_PERIODS * PERIOD + ASKED_REFUTE_PERIODS * PERIOD;
  assert.is(a.asked('m', later, false), false, 'the other ask is older than the window: lone again');
});

test('while its own loop lags, any ask is refuted (announcer.refute keeps one a period)', () => {
  const a = new LostAskers(PERIOD);
  assert.is(a.asked('m', 0, true), true);
  assert.is(a.asked('m', 1000, true), true);
  assert.is(a.asked('m', 2000, false), false, 'on time again: lone');
});

test.run();
