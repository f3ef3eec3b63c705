import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DecodeError, encodeMessage } from '../../src/protocol/codec.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import { MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { FakeClock } from '../../src/util/clock.js';

/**
 * Issue 18's 17-byte trailer sends only the low 32 bits of the sender's time; the receiver takes the high
 * bits from its own clock. A sender whose clock is far from the receiver's is refused either way, but the
 * reason is what the operator reads (decode_errors{reason}, the log): "stale ... clocks not in sync" sends
 * them to NTP, "bad-signature" sends them to re-distribute the key, which fixes nothing.
 */

const key = parseKeyRing(generateKey());
const NOW_2026 = 1_780_000_000_000;
const message = encodeMessage({
  type: MessageType.heartbeat,
  site: 's',
  name: 'pi',
  incarnation: 1,
  version: 1,
  peerPort: 1,
  hints: [],
}).bytes;

function refusal(senderMs: number, receiverMs: number): DecodeError {
  const sealed = new HmacEnvelope(key, new FakeClock(0, senderMs)).seal(message);
  try {
    new HmacEnvelope(key, new FakeClock(0, receiverMs)).open(sealed);
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw err;
  }
  throw new Error('opened');
}

test('a Raspberry Pi without RTC, 40 s after booting in 1970, is refused as stale (clocks), not as a bad key', () => {
  const err = refusal(40_000, NOW_2026);
  assert.is(err.reason, 'stale', `refused as ${err.reason}: ${err.message}`);
  assert.match(err.message, /clocks not in sync/);
});

test('a refusal for clocks more than 24.8 days apart says that clocks may be the cause', () => {
  const days = 30 * 86_400_000;
  const err = refusal(NOW_2026 - days, NOW_2026);
  // Beyond half the wrap the receiver cannot tell the sender's time from its tag without trying every high
  // value; it can at least not name a key as the only cause.
  assert.match(err.message, /clock/, `refused as ${err.reason}: ${err.message}`);
});

test("a Pi booted in 1970 that receives a synced agent's datagram says its own clock is the cause", () => {
  const err = refusal(NOW_2026, 40_000);
  assert.match(err.message, /this agent's clock/, `refused as ${err.reason}: ${err.message}`);
});

test('a sender whose clock was hours fast is heard as soon as NTP steps it back', () => {
  const clock = new FakeClock(0, NOW_2026 + 3 * 3_600_000);
  const sender = new HmacEnvelope(key, clock);
  const receiver = new HmacEnvelope(key, new FakeClock(0, NOW_2026));
  assert.throws(
    () => receiver.open(sender.seal(message)),
    (e: { reason?: string }) => e.reason === 'stale',
  );
  const wall = new FakeClock(0, NOW_2026);
  clock.now = () => wall.now(); // stepped to the right time
  assert.ok(receiver.open(sender.seal(message)));
});

test.run();
