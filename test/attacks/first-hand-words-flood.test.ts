import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a32 } from '../../src/protocol/messages.js';
import { SYNC_LIMITS } from '../../src/sync/config.js';
import { FirstHandWords, PORTS_PER_ADDRESS, WORD_MS, type Word } from '../../src/sync/first-hand-words.js';
import type { Peer } from '../../src/sync/peer-table.js';
import type { SyncContext } from '../../src/sync/sync-context.js';
import type { Endpoint } from '../../src/transport/transport.js';
import { FakeClock } from '../../src/util/clock.js';

/**
 * First-hand words (first-hand-words.ts) under a flood: anyone may challenge a newcomer (1,024 echoes at once, each
 * with a counter-nonce, challenges.ts) and answer each counter-nonce with a word naming any hash. Words are kept by
 * hash and address, SYNC_LIMITS.peers keys at most, and a key is freed only when all its words are WORD_MS old.
 * Memory stays bounded whatever the ports and addresses (held). But one address could take every key with fresh
 * words of made-up hashes: each origin's own word, coming a moment later, was then dropped, and every set the bulk
 * answer gave was probed at its origin as before the words (the forger's 2,048 datagrams for the newcomer's N-1
 * probes). An honest address says only what its own agents are, PORTS_PER_ADDRESS at most (first-hand-words.ts).
 */
const ORIGIN: Endpoint = { address: '10.0.4.2', port: 7770 };
const FORGER = '10.0.9.7';

function stage() {
  const clock = new FakeClock();
  const s = {
    c: {
      clock,
      directory: { setDigest: () => 'digest-held' },
      metrics: { announceChallenges: { inc: () => {} } },
    },
    peers: { verify: () => {} },
    placeFreed: () => {},
  } as unknown as SyncContext;
  const peer = {
    name: 'agent-2',
    endpoint: { address: ORIGIN.address, port: 7771 },
    datagram: ORIGIN,
    verified: true,
    replica: { incarnation: 1002, previous: undefined, heldVersion: () => 3 },
  } as unknown as Peer;
  const word = (from: Endpoint): Word => ({
    incarnation: 1002,
    version: 3,
    setDigest: 'digest-held',
    from,
    at: clock.monotonic(),
  });
  const words = new FirstHandWords(s);
  const held = () => {
    const map = (words as unknown as { words: Map<string, Word[]> }).words;
    const byAddress = (words as unknown as { byAddress?: Map<string, Set<string>> }).byAddress;
    const [keys, addresses] = [map.size, byAddress?.size ?? 0];
    return { keys, addresses, words: [...map.values()].reduce((n, ws) => n + ws.length, 0) };
  };
  return { clock, words, peer, word, held };
}

test('a flood of words from many ports and addresses: memory stays bounded', async () => {
  const { clock, words, word, held } = stage();
  // Three waves WORD_MS apart, each word from a new address and port: the older waves' keys must go.
  for (let i = 0; i < 60_000; i++) {
    const from = { address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 5000) };
    words.note(i % 3000, word(from));
    if (i % 20_000 === 19_999) await clock.advance(WORD_MS + 1);
  }
  for (let port = 1; port < 20_000; port++) words.note(7, word({ address: FORGER, port }));
  const h = held();
  console.log(`    ${h.keys} keys (${h.addresses} addresses), ${h.words} words held after 80,000 forged words`);
  assert.ok(h.addresses <= h.keys, `${h.addresses} addresses for ${h.keys} keys`);
  assert.ok(h.keys <= SYNC_LIMITS.peers, `${h.keys} keys`);
  assert.ok(h.words <= SYNC_LIMITS.peers * PORTS_PER_ADDRESS, `${h.words} words`);
});

test("one address's words of made-up hashes: the origin's own word, a moment later, still stands", async () => {
  const { clock, words, peer, word, held } = stage();
  for (let i = 0; i < SYNC_LIMITS.peers; i++) words.note(0x5eed0000 + i, word({ address: FORGER, port: 40_000 }));
  await clock.advance(5);
  words.note(fnv1a32(peer.name), word(ORIGIN));
  console.log(`    ${held().keys} keys held, ${held().words} words`);
  assert.ok(words.confirm(peer), "the origin's word, from its own address and port, confirms the set held");
});

test.run();
