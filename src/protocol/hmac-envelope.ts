import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { ClusterKey, KeyRing } from '../security/cluster-key.js';
import { KeyWindow } from '../security/key-window.js';
import type { Clock } from '../util/clock.js';
import { declaredLength, DecodeError } from './codec.js';
import type { Envelope } from './envelope.js';

const TAG_BYTES = 16; // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5; as in many LAN protocols)
const TRAILER_BYTES = 1 + 6 + TAG_BYTES; // key id, sender time in ms (48 bits), tag

/**
 * Authenticated datagrams: each carries a trailer with the key id, the sender's wall-clock time and an
 * HMAC over everything before the tag. Receivers drop datagrams without a valid tag, and those whose time
 * is outside the window around their own clock (an old capture replayed). A replay within the window
 * carries only what the receiver already holds, and the protocol ignores it; see docs/security.md.
 *
 * Refusal is cheap: the verdict ("unsigned", "unknown key", "bad tag", "stale") comes from the trailer,
 * one HMAC and the header's length fields. Nothing of a refused datagram is inflated or parsed, so junk
 * crafted to be costly to decode costs a keyed agent no more than any other junk.
 */
export class HmacEnvelope implements Envelope {
  readonly overhead = TRAILER_BYTES;
  private readonly keys: KeyWindow;
  /**
   * Each key's secret as a KeyObject, made once: given the raw bytes, every HMAC (one per datagram sent or
   * received) imported the key again, 1 in 10 of an idle agent's CPU at 1,000 agents. By key object, so
   * a rotation (setKeys) brings new ones and the old are collected with their ring.
   */
  private readonly keyObjects = new WeakMap<ClusterKey, KeyObject>();

  constructor(keys: KeyRing, clock: Clock, windowMs = 120_000) {
    this.keys = new KeyWindow(keys, clock, windowMs);
  }

  /** Takes a new key ring at once (SIGHUP after a key file edit): rotation without a restart. */
  setKeys(keys: KeyRing): void {
    this.keys.setKeys(keys);
  }

  seal(bytes: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(bytes.length + TRAILER_BYTES);
    out.set(bytes, 0);
    const signing = this.keys.signing;
    out[bytes.length] = signing.id;
    out.writeUIntBE(this.keys.now(), bytes.length + 1, 6);
    const tag = createHmac('sha256', this.keyObject(signing))
      .update(out.subarray(0, bytes.length + 7))
      .digest()
      .subarray(0, TAG_BYTES);
    tag.copy(out, bytes.length + 7);
    return out;
  }

  open(bytes: Uint8Array): Uint8Array {
    const b = asBuffer(bytes);
    if (bytes.length < TRAILER_BYTES + 5) throw unsigned();
    const body = bytes.length - TRAILER_BYTES;
    const key = this.keys.byId(b[body]);
    if (!key) {
      if (declaredLength(b) === b.length) throw unsigned();
      throw new DecodeError('unknown-key', `signed with key id ${b[body]}, which this agent does not hold`);
    }
    const expected = createHmac('sha256', this.keyObject(key))
      .update(b.subarray(0, body + 7))
      .digest()
      .subarray(0, TAG_BYTES);
    if (!timingSafeEqual(expected, b.subarray(body + 7))) {
      if (declaredLength(b) === b.length) throw unsigned();
      throw new DecodeError('bad-signature', 'authentication tag does not match');
    }
    const skew = this.keys.skewOutside(b.readUIntBE(body + 1, 6));
    if (skew !== undefined) {
      throw new DecodeError(
        'stale',
        `sent ${Math.round(skew / 1000)} s from this agent's clock, ` +
          `outside the ${this.keys.windowMs / 1000} s window (a replay, or clocks not in sync)`,
      );
    }
    return b.subarray(0, body);
  }

  sentAt(bytes: Uint8Array): number | undefined {
    if (bytes.length < TRAILER_BYTES + 5) return undefined;
    return asBuffer(bytes).readUIntBE(bytes.length - TRAILER_BYTES + 1, 6);
  }

  private keyObject(key: ClusterKey): KeyObject {
    let made = this.keyObjects.get(key);
    if (made === undefined) this.keyObjects.set(key, (made = createSecretKey(key.secret)));
    return made;
  }
}

/** A datagram from the socket is a Buffer already: wrapped only when it is not (twice per datagram before). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A whole message without a trailer: judged by the header's lengths alone (declaredLength). */
function unsigned(): DecodeError {
  return new DecodeError('unsigned', 'datagram is not signed (an agent without the cluster key?)');
}
