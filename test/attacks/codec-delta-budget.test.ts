import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeMessage, encodeMessage, HEADER_OFFSETS, MAX_DATAGRAM, MAX_HINTS } from '../../src/protocol/codec.js';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import { MessageType, type Message } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { FakeClock } from '../../src/util/clock.js';
import { seededRandom } from '../../src/util/random.js';
import { device } from '../helpers/sim.js';

/**
 * attack15, surface 3 (change13: a delta is deflated only when its JSON would not fit). Every size of a
 * one-device delta across the datagram's budget, in the fullest header an agent sends (8 hints, a stretched
 * interval, a 63-byte name) and sealed with the site key's 17-byte trailer: the sealed datagram never passes
 * MAX_DATAGRAM; the delta goes as JSON when it fits, deflated when only that fits, and is left out otherwise
 * (the receiver then catches up: the announcement still carries the version); a receiver reads each back.
 */
const keys = parseKeyRing(generateKey());
const [sender, receiver] = [
  new HmacEnvelope(keys, new FakeClock(0, 1e12)),
  new HmacEnvelope(keys, new FakeClock(0, 1e12)),
];

const head: Omit<Message, 'delta'> = {
  type: MessageType.announce,
  site: 'default',
  name: `a${'b'.repeat(62)}`,
  incarnation: 1_795_705_347_711,
  version: 4_000_000,
  peerPort: 7771,
  hints: Array.from({ length: MAX_HINTS }, (_, i) => ({
    nameHash: 0xfedcba98 - i,
    incarnationTag: 0xbeef,
    version: 2 ** 30 + i,
  })),
  intervalMs: 1_234_567,
};

test('a one-device delta of every size near the budget, keyed: fits sealed, as JSON if it can, read back', () => {
  const random = seededRandom(15);
  const noise = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 36).toString(36)).join('');
  const seen = { json: 0, deflated: 0, left: 0 };
  // Capabilities of 20-200 characters of description (noise: deflate saves ~35 %; repeated: most of it).
  for (let extra = 0; extra <= 1600; extra += 3) {
    for (const text of [noise, (n: number) => 'x'.repeat(n)]) {
      const capabilities = [];
      for (let left = extra; left > 0; left -= 200)
        capabilities.push({
          id: `c${capabilities.length}`,
          kind: 'property' as const,
          description: text(Math.min(left, 200)),
        });
      const delta = { version: head.version, added: [], updated: [device('lamp-1', { capabilities })], removed: [] };
      const json = Buffer.byteLength(JSON.stringify(delta));
      const { bytes, deltaIncluded } = encodeMessage({ ...head, delta }, { reserve: sender.overhead });
      const sealed = sender.seal(bytes);
      assert.ok(sealed.length <= MAX_DATAGRAM, `${sealed.length} bytes sealed, a delta of ${json} bytes of JSON`);
      const read = decodeMessage(receiver.open(sealed));
      assert.is(read.version, head.version, 'the announcement names its version, delta or not');
      assert.is(read.intervalMs, head.intervalMs);
      assert.is(read.hints.length, MAX_HINTS);
      const deflated = (bytes[HEADER_OFFSETS.flags] & 2) !== 0;
      if (!deltaIncluded) {
        assert.is(read.delta, undefined);
        seen.left++;
        continue;
      }
      assert.equal(read.delta, delta, `a delta of ${json} bytes of JSON read back`);
      // As JSON whenever the JSON alone fits: nothing is deflated that did not need to be.
      const asJson = encodeMessage({ ...head }).bytes.length + 2 + json + sender.overhead <= MAX_DATAGRAM;
      assert.is(deflated, !asJson, `a delta of ${json} bytes of JSON: deflated ${deflated}`);
      seen[deflated ? 'deflated' : 'json']++;
    }
  }
  console.log(`  ${seen.json} as JSON, ${seen.deflated} deflated, ${seen.left} left out`);
  assert.ok(seen.json > 0 && seen.deflated > 0 && seen.left > 0, 'the sweep crosses both limits');
});

test.run();
