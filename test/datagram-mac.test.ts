import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DatagramMac } from '../src/protocol/datagram-mac.js';

/** The datagram tag made without an Hmac object per datagram is still HMAC-SHA256, tag for tag. */

function reference(secret: Buffer, message: Uint8Array, suffix: number | undefined): Buffer {
  const hmac = createHmac('sha256', secret).update(message);
  if (suffix !== undefined) hmac.update(Buffer.from([suffix >> 8, suffix & 255]));
  return hmac.digest();
}

test("the tag is createHmac's, for keys shorter, as long as and longer than a block, and any datagram size", () => {
  for (const keyBytes of [32, 63, 64, 65, 100]) {
    const secret = randomBytes(keyBytes);
    const mac = new DatagramMac(secret);
    // Sizes across the buffer's growth, and back down: what a larger datagram left must not leak in.
    for (const size of [0, 1, 55, 56, 64, 300, 1500, 1535, 1536, 4000, 65_000, 17, 300]) {
      const message = randomBytes(size);
      const suffix = size % 3 === 0 ? undefined : size & 0xffff; // the older trailer's tag has none
      const out = Buffer.alloc(40, 0xaa);
      // The signed part is a prefix of the datagram (a tag follows it), which comes as a Buffer from a socket
      // and as a plain Uint8Array from the in-memory network: only the prefix counts, whatever follows.
      const datagram = Buffer.concat([message, randomBytes(size % 13)]);
      mac.write(size % 2 === 0 ? datagram : Uint8Array.from(datagram), size, suffix, out, 3, 32);
      assert.equal(out.subarray(3, 35), reference(secret, message, suffix), `key ${keyBytes} B, message ${size} B`);
      assert.ok(out.subarray(0, 3).every((b) => b === 0xaa) && out.subarray(35).every((b) => b === 0xaa));
    }
  }
});

test.run();
