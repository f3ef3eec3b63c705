import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a32 } from '../src/protocol/messages.js';
import { FirstHandWords, type Word } from '../src/sync/first-hand-words.js';
import type { Peer } from '../src/sync/peer-table.js';
import type { SyncContext } from '../src/sync/sync-context.js';
import type { Endpoint } from '../src/transport/transport.js';
import { FakeClock } from '../src/util/clock.js';

/**
 * First-hand words (first-hand-words.ts) when two agents sit behind one address (two agents on one host, a NAT): the
 * origin's datagrams come from one port of it, another agent's from another. attackch21 kept words by name hash and
 * address: the other agent's word naming the origin replaced the origin's own (its set probed again), and a word of
 * it naming the origin's set stood for the origin's.
 */
const ADDRESS = '10.0.4.2';
const ORIGIN: Endpoint = { address: ADDRESS, port: 7770 };
const NEIGHBOUR: Endpoint = { address: ADDRESS, port: 7780 };

function stage(datagram?: Endpoint) {
  const clock = new FakeClock();
  const confirmed: string[] = [];
  const s = {
    c: {
      clock,
      directory: { setDigest: () => 'digest-held' },
      metrics: { announceChallenges: { inc: () => {} } },
    },
    peers: { verify: (p: Peer) => confirmed.push(p.name) },
    placeFreed: () => {},
  } as unknown as SyncContext;
  const peer = {
    name: 'agent-2',
    endpoint: { address: ADDRESS, port: 7771 },
    datagram,
    verified: true,
    replica: { incarnation: 1002, previous: undefined, heldVersion: () => 3 },
  } as unknown as Peer;
  const word = (from: Endpoint, setDigest = 'digest-held'): Word => ({
    incarnation: 1002,
    version: 3,
    setDigest,
    from,
    at: clock.monotonic(),
  });
  return { words: new FirstHandWords(s), peer, word, confirmed, hash: fnv1a32(peer.name) };
}

test("another agent behind the origin's address: its word about the origin does not displace the origin's", () => {
  const { words, peer, word, hash } = stage(ORIGIN);
  words.note(hash, word(ORIGIN));
  words.note(hash, word(NEIGHBOUR, 'digest-made-up'));
  assert.ok(words.confirm(peer), "the origin's own word, from its datagram port, still confirms the set held");
});

test("another agent behind the origin's address: its word naming the origin's set does not stand for the origin's", () => {
  const { words, peer, word, hash, confirmed } = stage(ORIGIN);
  words.note(hash, word(NEIGHBOUR));
  assert.not.ok(words.confirm(peer), 'a word from a port the origin does not send from');
  assert.equal(confirmed, []);
});

test('a peer whose datagram port is not known yet: a word from its address that names the set held stands', () => {
  const { words, peer, word, hash } = stage(undefined);
  words.note(hash, word(NEIGHBOUR, 'digest-made-up'));
  assert.not.ok(words.confirm(peer), 'a word naming another set');
  words.note(hash, word(ORIGIN));
  assert.ok(words.confirm(peer), 'the word naming the set held, among the words from that address');
});

test.run();
