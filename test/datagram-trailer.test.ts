import { createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../src/protocol/codec.js';
import { HmacEnvelope } from '../src/protocol/hmac-envelope.js';
import { MessageType, type Message } from '../src/protocol/messages.js';
import { generateKey, parseKeyRing, type KeyRing } from '../src/security/cluster-key.js';
import { FakeClock } from '../src/util/clock.js';
import { device, SimSite } from './helpers/sim.js';

/** The keyed datagram's trailer: 17 bytes (key id, low 32 bits of the sender's ms, 96-bit tag), was 23. */

const key = parseKeyRing(generateKey());
const WRAP = 2 ** 32;
/** A clock whose wall time is `ms` since 1970. */
const clockAt = (ms: number) => new FakeClock(0, ms);

function heartbeat(site = 's', name = 'a'): Message {
  return { type: MessageType.heartbeat, site, name, incarnation: 1, version: 1, peerPort: 1, hints: [] };
}

/** The trailer before this change, as agents of the last release seal: key id, 48-bit ms, 128-bit tag. */
function oldSeal(keys: KeyRing, bytes: Uint8Array, nowMs: number): Buffer {
  const out = Buffer.alloc(bytes.length + 23);
  out.set(bytes, 0);
  out[bytes.length] = keys.signing.id;
  out.writeUIntBE(nowMs, bytes.length + 1, 6);
  const tag = createHmac('sha256', keys.signing.secret)
    .update(out.subarray(0, bytes.length + 7))
    .digest();
  tag.copy(out, bytes.length + 7, 0, 16);
  return out;
}

test('a keyed datagram carries 17 bytes of trailer, and its time crosses the 32-bit wrap exactly', () => {
  const { bytes } = encodeMessage(heartbeat());
  const sender = new HmacEnvelope(key, clockAt(3 * WRAP - 40));
  const sealed = sender.seal(bytes);
  assert.is(sealed.length - bytes.length, 17);
  assert.is(sender.overhead, 17);
  // Received 80 ms later, after the low 32 bits wrapped: the same datagram, the sender's whole time.
  const receiver = new HmacEnvelope(key, clockAt(3 * WRAP + 40));
  assert.equal(Buffer.from(receiver.open(sealed)), bytes);
  assert.is(receiver.sentAt(sealed), 3 * WRAP - 40);
  // And the other way round: a sender just past the wrap, a receiver whose clock is just short of it.
  const late = new HmacEnvelope(key, clockAt(5 * WRAP + 10)).seal(bytes);
  const early = new HmacEnvelope(key, clockAt(5 * WRAP - 1000));
  assert.equal(Buffer.from(early.open(late)), bytes);
  assert.is(early.sentAt(late), 5 * WRAP + 10);
});

test("the tag is the HMAC-SHA256 of the datagram, key id and low time, then the time's high 16 bits", () => {
  const { bytes } = encodeMessage(heartbeat());
  const at = 3 * WRAP + 12_345;
  const sealed = new HmacEnvelope(key, clockAt(at)).seal(bytes);
  const tag = createHmac('sha256', key.signing.secret)
    .update(sealed.subarray(0, bytes.length + 5))
    .update(Buffer.from([0, 3]))
    .digest();
  assert.equal(Buffer.from(sealed.subarray(bytes.length + 5)), tag.subarray(0, 12));
  assert.equal(Buffer.from(new HmacEnvelope(key, clockAt(at + 50)).open(sealed)), bytes);
});

test('a capture replayed one wrap (49.7 days) later reads fresh by its low bits and is refused by its tag', () => {
  const { bytes } = encodeMessage(heartbeat());
  const t = 7 * WRAP + 123_456;
  const sealed = new HmacEnvelope(key, clockAt(t)).seal(bytes);
  assert.ok(new HmacEnvelope(key, clockAt(t + 60_000)).open(sealed), 'within the window');
  assert.throws(
    () => new HmacEnvelope(key, clockAt(t + 1000 + WRAP)).open(sealed),
    (e: { reason?: string }) => e.reason === 'bad-signature',
  );
  assert.throws(
    () => new HmacEnvelope(key, clockAt(t + 200_000)).open(sealed),
    (e: { reason?: string }) => e.reason === 'stale',
  );
});

test("an older Herald's datagram (23-byte trailer) is refused as old-trailer, named and counted, and changes nothing", async () => {
  const { bytes } = encodeMessage(heartbeat());
  const env = new HmacEnvelope(key, clockAt(5000));
  assert.throws(
    () => env.open(oldSeal(key, bytes, 5000)),
    (e: { reason?: string; message: string }) => e.reason === 'old-trailer' && /older Herald/.test(e.message),
  );
  // The old layout with a tag that does not verify is junk, not an older agent.
  const forged = oldSeal(key, bytes, 5000);
  forged[forged.length - 1] ^= 1;
  assert.throws(
    () => env.open(forged),
    (e: { reason?: string }) => e.reason !== 'old-trailer',
  );

  const site = new SimSite(31, { loss: 0 }, 1000, key);
  try {
    for (const n of ['a', 'b']) await site.start(n, [device(`${n}-1`)]);
    await site.clock.advance(3000);
    const before = site.running().map((a) => a.agent.directory.digest());
    const newer = encodeMessage({
      ...heartbeat('sim', 'a'),
      type: MessageType.announce,
      incarnation: 99_999,
      delta: { version: 1, added: [device('from-an-old-agent')], updated: [], removed: [] },
    }).bytes;
    site.network.inject('10.66.6.7', oldSeal(key, newer, site.clock.now()));
    await site.clock.advance(500);
    assert.equal(
      site.running().map((a) => a.agent.directory.digest()),
      before,
    );
    for (const n of ['a', 'b']) {
      assert.is(site.agents.get(n)!.agent.metrics.decodeErrors.get({ reason: 'old-trailer' }), 1, n);
    }
  } finally {
    await site.stopAll();
  }
});

test.run();
