import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NoticeDistrust } from '../src/sync/notice-distrust.js';
import { FakeClock } from '../src/util/clock.js';

/**
 * How long an open site stops listening to a reporter of false lost notices (src/sync/notice-distrust.ts),
 * in one-second periods: a few periods for a first false notice, more for each repeat, at most a minute.
 */
async function unheardFor(clock: FakeClock, d: NoticeDistrust, reporter: string): Promise<number> {
  let s = 0;
  while (d.distrusted(reporter)) {
    await clock.advance(1000);
    s += 1;
  }
  return s;
}

test('a first false notice costs 4 periods; repeats 16, then 60; strikes are forgotten after two minutes', async () => {
  const clock = new FakeClock();
  const d = new NoticeDistrust(clock, 1000, 16);
  d.falseNotice('m');
  d.falseNotice('m'); // another probe of the same notice: the same strike
  assert.is(await unheardFor(clock, d, 'm'), 4);
  d.falseNotice('m');
  assert.is(await unheardFor(clock, d, 'm'), 16);
  d.falseNotice('m');
  assert.is(await unheardFor(clock, d, 'm'), 60);
  d.falseNotice('m');
  assert.is(await unheardFor(clock, d, 'm'), 60, 'capped');
  await clock.advance(120_000);
  d.falseNotice('m');
  assert.is(await unheardFor(clock, d, 'm'), 4, 'afresh after the window');
  assert.not.ok(d.distrusted('other'), 'another reporter is heard');
});

test('a true notice takes a strike back', async () => {
  const clock = new FakeClock();
  const d = new NoticeDistrust(clock, 1000, 16);
  d.falseNotice('m');
  await unheardFor(clock, d, 'm');
  d.falseNotice('m');
  await unheardFor(clock, d, 'm');
  d.trueNotice('m');
  d.falseNotice('m');
  assert.is(await unheardFor(clock, d, 'm'), 16, 'the second strike again, not the third');
});

test('the reporters remembered are bounded; the oldest strike is forgotten first', () => {
  const clock = new FakeClock();
  const d = new NoticeDistrust(clock, 1000, 2);
  for (const r of ['a', 'b', 'c']) d.falseNotice(r);
  assert.not.ok(d.distrusted('a'), 'the oldest went');
  assert.ok(d.distrusted('b') && d.distrusted('c'));
});

test.run();
