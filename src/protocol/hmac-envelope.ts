import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from '../security/cluster-key.js';
import type { Clock } from '../util/clock.js';
import { decodeMessage, DecodeError, MAGIC } from './codec.js';
import type { Envelope } from './envelope.js';

const TAG_BYTES = 16; // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5; as in many LAN protocols)
const TRAILER_BYTES = 1 + 6 + TAG_BYTES; // key id, sender time in ms (48 bits), tag

/**
 * Authenticated datagrams: each carries a trailer with the key id, the sender's wall-clock time and an
 * HMAC over everything before the tag. Receivers drop datagrams without a valid tag, and those whose time
 * is outside the window around their own clock (an old capture replayed). A replay within the window
 * carries only what the receiver already holds, and the protocol ignores it; see docs/security.md.
 */
export class HmacEnvelope implements Envelope {
  readonly overhead = TRAILER_BYTES;

  constructor(
    private keys: KeyRing,
    private readonly clock: Clock,
    private readonly windowMs = 120_000,
  ) {}

  /** Takes a new key ring at once (SIGHUP after a key file edit): rotation without a restart. */
  setKeys(keys: KeyRing): void {
    this.keys = keys;
  }

  seal(bytes: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(bytes.length + TRAILER_BYTES);
    out.set(bytes, 0);
    out[bytes.length] = this.keys.signing.id;
    out.writeUIntBE(Math.floor(this.clock.now()), bytes.length + 1, 6);
    const tag = createHmac('sha256', this.keys.signing.secret)
      .update(out.subarray(0, bytes.length + 7))
      .digest()
      .subarray(0, TAG_BYTES);
    tag.copy(out, bytes.length + 7);
    return out;
  }

  open(bytes: Uint8Array): Uint8Array {
    if (bytes.length < TRAILER_BYTES + 5)
      throw new DecodeError('unsigned', 'datagram carries no authentication trailer');
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const body = bytes.length - TRAILER_BYTES;
    const key = this.keys.all.find((k) => k.id === b[body]);
    if (!key) {
      if (isWholeMessage(b))
        throw new DecodeError('unsigned', 'datagram is not signed (an agent without the cluster key?)');
      throw new DecodeError('unknown-key', `signed with key id ${b[body]}, which this agent does not hold`);
    }
    const expected = createHmac('sha256', key.secret)
      .update(b.subarray(0, body + 7))
      .digest()
      .subarray(0, TAG_BYTES);
    if (!timingSafeEqual(expected, b.subarray(body + 7))) {
      if (isWholeMessage(b))
        throw new DecodeError('unsigned', 'datagram is not signed (an agent without the cluster key?)');
      throw new DecodeError('bad-signature', 'authentication tag does not match');
    }
    const sent = b.readUIntBE(body + 1, 6);
    const skew = sent - this.clock.now();
    if (Math.abs(skew) > this.windowMs) {
      throw new DecodeError(
        'stale',
        `sent ${Math.round(skew / 1000)} s from this agent's clock, outside the ${this.windowMs / 1000} s window (a replay, or clocks not in sync)`,
      );
    }
    return b.subarray(0, body);
  }

  sentAt(bytes: Uint8Array): number | undefined {
    if (bytes.length < TRAILER_BYTES + 5) return undefined;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUIntBE(
      bytes.length - TRAILER_BYTES + 1,
      6,
    );
  }
}

/** Whether the bytes are a complete Herald message on their own, i.e. sent without a trailer. */
function isWholeMessage(b: Buffer): boolean {
  if (b.length < 5 || b.readUInt16BE(0) !== MAGIC) return false;
  try {
    decodeMessage(b);
    return true;
  } catch {
    return false;
  }
}
