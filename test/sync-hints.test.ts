import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Hints, RING_CARRIES } from '../src/sync/hints.js';
import { fnv1a32 } from '../src/protocol/messages.js';
import { FakeClock } from '../src/util/clock.js';

/** The rounds, of `rounds` made one a second, that carried `name`'s hint, while `noisy` origins change each tick. */
async function roundsCarrying(name: string, noisy: string[], rounds: number, tickMs: number): Promise<number[]> {
  const clock = new FakeClock();
  const hints = new Hints(clock, 2000);
  let version = 1;
  const tick = () => {
    version += 1;
    for (const n of noisy) hints.note(n, 1, version, true);
  };
  tick();
  hints.note(name, 1, 2, true);
  const carried: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let t = 0; t < 1000; t += tickMs) {
      await clock.advance(tickMs);
      tick();
    }
    if (hints.forRound().some((h) => h.nameHash === fnv1a32(name))) carried.push(round);
  }
  return carried;
}

/**
 * Ten origins changing every 250 ms: with the newest first the quiet change never rode a round (it is older
 * than every noisy one after their first change). Least recently carried first, it rides every 2nd round
 * (11 owed, 8 slots) until its RING_CARRIES rounds are done.
 */
test('a quiet change rides its rounds among ten noisy origins, one in ceil(11 / 8)', async () => {
  const noisy = Array.from({ length: 10 }, (_, i) => `noisy-${i}`);
  const carried = await roundsCarrying('quiet', noisy, 20, 250);
  assert.is(carried.length, RING_CARRIES, `carried in rounds ${carried.join(', ')}`);
  assert.ok(carried[0] <= 1, `first carried in round ${carried[0]}`);
  for (let i = 1; i < carried.length; i++) assert.ok(carried[i] - carried[i - 1] <= 2, `rounds ${carried.join(', ')}`);
});

/**
 * Forty origins owed a carry: each rides one round in 5, so the quiet change's 6 carries take 30 rounds, past
 * the 8-period end of a burst. It is kept until it rode at least once (it did, in the first 5 rounds).
 */
test('among forty noisy origins a quiet change still rides within ceil(41 / 8) rounds', async () => {
  const noisy = Array.from({ length: 40 }, (_, i) => `noisy-${i}`);
  const carried = await roundsCarrying('quiet', noisy, 12, 500);
  assert.ok(carried.length >= 1 && carried[0] <= 5, `carried in rounds ${carried.join(', ')}`);
});

test('the multicast list is newest first: a change just made rides the next heartbeat', async () => {
  const clock = new FakeClock();
  const hints = new Hints(clock, 2000);
  for (let i = 0; i < 12; i++) {
    hints.note(`origin-${i}`, 1, 2, true);
    await clock.advance(10);
  }
  hints.list();
  hints.list();
  const next = hints.list().map((h) => h.nameHash);
  assert.is(next.length, 8);
  assert.ok(next.includes(fnv1a32('origin-11')), 'the newest change is listed again');
});

test.run();
