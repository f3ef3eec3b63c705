import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { multicastSenders } from '../bench/scale/idle.js';
import type { SenderTally } from '../bench/scale/group-listener.js';

/**
 * The scale step's tally of who multicast after the cold start (idle13): each agent against what its own announced
 * interval accounts for, one datagram an interval on average; an agent not heard counts with the median interval.
 */
test('multicastSenders: datagrams against the agents’ own intervals, the busiest beyond them first', () => {
  const bySender = new Map<string, SenderTally>([
    ['a', { datagrams: 2, types: { heartbeat: 2 }, intervalMs: 30_000 }],
    ['b', { datagrams: 6, types: { heartbeat: 5, announce: 1 }, intervalMs: 10_000 }],
    ['c', { datagrams: 1, types: { heartbeat: 1 }, intervalMs: 60_000 }],
  ]);
  const s = multicastSenders({ ms: 60_000, bySender }, ['a', 'b', 'c', 'd']);
  assert.is(s.seconds, 60);
  assert.is(s.datagrams, 9);
  assert.is(s.senders, 3);
  assert.equal(s.byType, { heartbeat: 8, announce: 1 });
  // a: 2, b: 6, c: 1, d (not heard): the median interval, 30 s: 2.
  assert.is(s.expected, 11);
  assert.equal(
    s.top.map((t) => [t.agent, t.datagrams - t.expected]),
    [
      ['a', 0],
      ['b', 0],
      ['c', 0],
    ],
  );
  bySender.get('c')!.datagrams = 4;
  assert.is(multicastSenders({ ms: 60_000, bySender }, ['a', 'b', 'c']).top[0].agent, 'c');
});

test.run();
