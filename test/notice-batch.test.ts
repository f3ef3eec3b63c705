import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Hint } from '../src/protocol/messages.js';
import { NoticeBatch } from '../src/sync/notice-batch.js';
import { FakeClock } from '../src/util/clock.js';

const PERIOD = 1000;
const hint = (nameHash: number): Hint => ({ nameHash, incarnationTag: 1, version: 0 });

/** A batch on a fake clock, and when (ms) each notice left naming which subjects. */
function batch() {
  const clock = new FakeClock();
  const sent: { at: number; names: number[] }[] = [];
  const b = new NoticeBatch(clock, PERIOD, (hints) =>
    sent.push({ at: clock.monotonic(), names: hints.map((h) => h.nameHash) }),
  );
  return { clock, sent, b };
}

test('a sweep’s subjects wait a tenth of a period and leave in one notice (sent twice)', async () => {
  const { clock, sent, b } = batch();
  b.add(hint(1));
  b.add(hint(2));
  assert.is(sent.length, 0);
  await clock.advance(100);
  assert.equal(sent, [
    { at: 100, names: [1, 2] },
    { at: 100, names: [1, 2] },
  ]);
});

/**
 * A verdict's notice (indirect-checks.ts) is judged at the end of a late loop's turn, where the gather's
 * tenth of a period would be one more turn: it leaves at once, and still at most one notice a period.
 */
test('without the gather a notice leaves at once, the next no sooner than a period after', async () => {
  const { clock, sent, b } = batch();
  b.add(hint(1), false);
  assert.equal(sent, [
    { at: 0, names: [1] },
    { at: 0, names: [1] },
  ]);
  await clock.advance(300);
  b.add(hint(2), false);
  assert.is(sent.length, 2, 'a second notice within the period waits');
  await clock.advance(700);
  assert.equal(sent.slice(2), [
    { at: 1000, names: [2] },
    { at: 1000, names: [2] },
  ]);
});

test.run();
