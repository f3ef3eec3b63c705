import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBeat, encodeBeat, isBeat } from '../src/protocol/beat.js';
import { declaredLength, decodeMessage, DecodeError, encodeMessage, MAX_DATAGRAM } from '../src/protocol/codec.js';
import { HeartbeatMemo } from '../src/protocol/heartbeat-memo.js';
import { fnv1a32, MessageType, type Message } from '../src/protocol/messages.js';
import { seededRandom } from '../src/util/random.js';
import { device } from './helpers/sim.js';

const base: Message = {
  type: MessageType.heartbeat,
  site: 'default',
  name: 'pi-greenhouse',
  incarnation: 1_795_705_347_711,
  version: 42,
  peerPort: 7771,
  hints: [{ nameHash: fnv1a32('pi-gate'), incarnationTag: 0xbeef, version: 300 }],
};

test('round trip of every message type', () => {
  for (const type of Object.values(MessageType)) {
    if (type >= MessageType.beat) continue; // layouts of their own: a beat below, a challenge and echo (challenge)
    const msg = { ...base, type };
    assert.equal(decodeMessage(encodeMessage(msg).bytes), msg);
  }
  const beat = { self: { nameHash: 0xdeadbeef, incarnationTag: 7, version: 300 }, hints: base.hints };
  const bytes = encodeBeat(beat);
  assert.equal(decodeBeat(bytes), beat);
  assert.ok(isBeat(bytes));
  assert.throws(
    () => decodeMessage(bytes),
    (e: { reason?: string }) => e.reason === 'type',
  );
  assert.is(encodeBeat({ ...beat, hints: [] }).length, 14, 'a beat without hints (version 300: 2 bytes)');
});

test('a stretched heartbeat names its view digest in 4 bytes; no other type may, and every prefix is refused', () => {
  const stretched = { ...base, intervalMs: 80_000, view: 0xfedcba98 };
  const { bytes } = encodeMessage(stretched);
  assert.equal(decodeMessage(bytes), stretched);
  assert.is(bytes.length - encodeMessage({ ...base, intervalMs: 80_000 }).bytes.length, 4);
  assert.is(declaredLength(bytes), bytes.length, 'a keyed agent finds its envelope trailer after it');
  assert.equal(decodeMessage(encodeMessage({ ...base, view: 0 }).bytes), { ...base, view: 0 });
  const announce = encodeMessage({ ...stretched, type: MessageType.announce }).bytes;
  assert.throws(() => decodeMessage(announce), /only heartbeats carry a view digest/);
  for (let n = 0; n < bytes.length; n++)
    assert.throws(
      () => decodeMessage(bytes.subarray(0, n)),
      (e: unknown) => e instanceof DecodeError,
      `prefix of ${n} bytes`,
    );
});

test('a heartbeat is small: idle traffic stays far under 150 bytes a second', () => {
  const { bytes } = encodeMessage({ ...base, hints: [] });
  assert.ok(bytes.length + 28 < 80, `${bytes.length} bytes of payload, plus 28 of IP and UDP`);
});

test('a heartbeat repeated byte for byte is not decoded again; any other datagram is, and bad ones still fail', () => {
  const memo = new HeartbeatMemo(2);
  const heartbeat = encodeMessage(base).bytes;
  const first = memo.decode(heartbeat);
  assert.equal(first, base);
  assert.is(memo.decode(Buffer.from(heartbeat)), first, 'the same bytes in a new buffer: the decoded message again');
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.hints), 'shared, so frozen');
  const next = memo.decode(encodeMessage({ ...base, version: 43 }).bytes);
  assert.is(next.version, 43, 'a newer heartbeat of the same agent is decoded');
  const announce = encodeMessage({ ...base, type: MessageType.announce }).bytes;
  assert.is.not(memo.decode(announce), memo.decode(announce), 'only heartbeats are remembered');
  const truncated = heartbeat.subarray(0, heartbeat.length - 1);
  assert.throws(
    () => memo.decode(truncated),
    (e: unknown) => e instanceof DecodeError,
  );
  for (const name of ['a', 'b', 'c', 'd']) memo.decode(encodeMessage({ ...base, name }).bytes); // past its capacity it starts over
  assert.equal(memo.decode(heartbeat), base);
});

test('an announcement carries its delta when it fits, compressed when that helps', () => {
  const delta = { version: 42, added: [device('a'), device('b')], updated: [device('c')], removed: ['d'] };
  const { bytes, deltaIncluded } = encodeMessage({ ...base, type: MessageType.announce, delta });
  assert.ok(deltaIncluded);
  assert.ok(bytes.length <= MAX_DATAGRAM);
  assert.equal(decodeMessage(bytes).delta, delta);
});

/** The flags byte's DEFLATED bit (codec.ts): the receiver inflates the delta before parsing it. */
const deflated = (bytes: Uint8Array) => (bytes[4] & 2) !== 0;

test('a delta that fits as JSON goes as JSON: no receiver inflates it; one that would not fit is deflated to fit', () => {
  // A change of one device (the scale step's kind, ~420 bytes of JSON): each of 50 agents sharing a loop
  // inflated its copy, ~19 % of the receive path's CPU (bench/scale/receive-cost.ts, change13).
  const one = { version: 42, added: [], updated: [device('c', { location: 'hall 3, revision 4' })], removed: [] };
  const small = encodeMessage({ ...base, type: MessageType.announce, delta: one });
  assert.ok(small.deltaIncluded);
  assert.not.ok(deflated(small.bytes), 'within the datagram as JSON: sent as JSON');
  assert.equal(decodeMessage(small.bytes).delta, one);
  // Eight devices are ~2,700 bytes of JSON, past the 1,200 of a datagram; deflated they fit.
  const eight = Array.from({ length: 8 }, (_, i) => device(`device-${i}`));
  const many = { version: 42, added: eight, updated: [], removed: [] };
  const large = encodeMessage({ ...base, type: MessageType.announce, delta: many });
  assert.ok(large.deltaIncluded);
  assert.ok(deflated(large.bytes), 'too large as JSON: deflated, and then within the datagram');
  assert.ok(large.bytes.length <= MAX_DATAGRAM);
  assert.equal(decodeMessage(large.bytes).delta, many);
});

test('a delta too large for one datagram is left out: the version alone is announced', () => {
  const random = seededRandom(1);
  const noise = () => Array.from({ length: 60 }, () => Math.floor(random() * 36).toString(36)).join('');
  const big = Array.from({ length: 40 }, (_, i) => device(`device-${i}`, { name: noise(), location: noise() }));
  const { bytes, deltaIncluded } = encodeMessage({
    ...base,
    type: MessageType.announce,
    delta: { version: 42, added: big, updated: [], removed: [] },
  });
  assert.not.ok(deltaIncluded);
  assert.is(decodeMessage(bytes).delta, undefined);
  assert.is(decodeMessage(bytes).version, 42);
});

test('every truncation of a valid datagram is a DecodeError, never a crash', () => {
  const { bytes } = encodeMessage({
    ...base,
    type: MessageType.announce,
    delta: { version: 42, added: [device('a')], updated: [], removed: [] },
  });
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(
      () => decodeMessage(bytes.subarray(0, n)),
      (e: unknown) => e instanceof DecodeError,
      `prefix of ${n} bytes`,
    );
  }
});

test('random mutations are decoded or refused with a reason, never thrown as anything else', () => {
  const random = seededRandom(99);
  const { bytes } = encodeMessage({
    ...base,
    type: MessageType.announce,
    delta: { version: 42, added: [device('a')], updated: [], removed: [] },
  });
  const reasons = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const copy = Buffer.from(bytes);
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
    try {
      decodeMessage(copy);
    } catch (err) {
      assert.ok(err instanceof DecodeError, `unexpected ${(err as Error).stack}`);
      reasons.add(err.reason);
    }
  }
  assert.ok(reasons.size >= 4, `several distinct reasons: ${[...reasons].join(', ')}`);
});

test('clear reasons for foreign and future datagrams', () => {
  const { bytes } = encodeMessage(base);
  const other = Buffer.from(bytes);
  other[0] = 0x00;
  assert.throws(() => decodeMessage(other), /bad magic/);
  const future = Buffer.from(bytes);
  future[2] = 2;
  assert.throws(() => decodeMessage(future), /format version 2 is not supported/);
  assert.throws(() => decodeMessage(Buffer.concat([bytes, Buffer.from([0])])), /1 unexpected bytes/);
});

test('a delta whose devices break the profile rules is refused like a bad profile', () => {
  const bad = {
    ...base,
    type: MessageType.announce,
    delta: { version: 42, added: [{ ...device('a'), id: 'NOT VALID' }], updated: [], removed: [] },
  };
  const { bytes } = encodeMessage(bad);
  assert.throws(() => decodeMessage(bytes), /added\[0\] is not a valid device/);
});

test.run();
