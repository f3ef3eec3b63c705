import { timingSafeEqual } from 'node:crypto';
import type { ClusterKey, KeyRing } from '../security/cluster-key.js';
import { KeyWindow } from '../security/key-window.js';
import type { Clock } from '../util/clock.js';
import { declaredLength, DecodeError } from './codec.js';
import { DatagramMac } from './datagram-mac.js';
import type { Envelope } from './envelope.js';

/**
 * HMAC-SHA256 truncated to 96 bits. RFC 2104 §5 allows truncation to no fewer than 80 bits (and advises
 * half the hash's length); IPsec's HMAC-SHA1-96 (RFC 2404) and SRTP's HMAC-SHA1-80 (RFC 3711 §5.2) run
 * shorter tags over datagrams, where a forger can only try tags online, one datagram at a time (2⁹⁶ tries).
 * 4 bytes fewer in every datagram: at 1,000 agents most of an agent's traffic is its trailers.
 */
const TAG_BYTES = 12;
/** The sender's time on the wire: the low 32 bits of its milliseconds (the rest is implied, see `seal`). */
const TIME_BYTES = 4;
const TRAILER_BYTES = 1 + TIME_BYTES + TAG_BYTES; // key id, sender time, tag
/** The trailer before this one (key id, 48-bit time, 128-bit tag): told apart with a clear reason. */
const OLD_TRAILER_BYTES = 1 + 6 + 16;
const TIME_WRAP = 2 ** 32;

/**
 * Authenticated datagrams: each carries a trailer with the key id, the sender's wall-clock time and an
 * HMAC. Receivers drop datagrams without a valid tag, and those whose time is outside the window around
 * their own clock (an old capture replayed). A replay within the window carries only what the receiver
 * already holds, and the protocol ignores it; see docs/security.md.
 *
 * Only the time's low 32 bits travel (49.7 days of milliseconds), but the tag covers all 48: the
 * receiver takes the high bits from its own clock (the window is far shorter than the wrap) and checks
 * the tag over the whole time, as SRTP's tag covers the rollover counter it never sends (RFC 3711 §3.3.1,
 * §4.2). A capture replayed 49.7 days later would read as fresh by its low bits, and fails its tag.
 *
 * Refusal is cheap: the verdict ("unsigned", "unknown key", "bad tag", "stale") comes from the trailer,
 * one HMAC and the header's length fields. Nothing of a refused datagram is inflated or parsed, so junk
 * crafted to be costly to decode costs a keyed agent no more than any other junk.
 */
export class HmacEnvelope implements Envelope {
  readonly overhead = TRAILER_BYTES;
  private readonly keys: KeyWindow;
  /**
   * Each key's MAC (its pads made once, see datagram-mac.ts): one HMAC per datagram sent or received. By
   * key object, so a rotation (setKeys) brings new ones and the old are collected with their ring.
   */
  private readonly macs = new WeakMap<ClusterKey, DatagramMac>();
  /** The tag a received datagram should carry, computed here and compared in constant time. */
  private readonly expected = Buffer.alloc(TAG_BYTES);
  /** The time of the last datagram sealed (see `seal`). */
  private lastSealed = 0;

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
    // Strictly increasing: receivers ignore a time not newer than the last they heard from this agent (a
    // replay), so after NTP stepped this clock back every datagram was ignored until it caught up, and a
    // second datagram sealed in the same millisecond was taken for a copy of the first. Not across a step
    // back longer than the window: the times before it were refused as stale, and would stay so.
    const clock = this.keys.now();
    const held = clock <= this.lastSealed && this.lastSealed - clock <= this.keys.windowMs;
    const now = (this.lastSealed = held ? this.lastSealed + 1 : clock);
    out[bytes.length] = signing.id;
    out.writeUInt32BE(now % TIME_WRAP, bytes.length + 1);
    const signed = bytes.length + 1 + TIME_BYTES;
    this.mac(signing).write(out, signed, highBits(now), out, signed, TAG_BYTES);
    return out;
  }

  /**
   * The datagram's message, a view of it of the datagram's own class. An accepted datagram costs one HMAC and
   * one view: its bytes are read in place (a Buffer made of a datagram that was not one, then views of it for
   * the signed part and the tag, were objects made per datagram and receiver, beside the tag's two hashes).
   */
  open(bytes: Uint8Array): Uint8Array {
    if (bytes.length < TRAILER_BYTES + 5) throw unsigned();
    const body = bytes.length - TRAILER_BYTES;
    const key = this.keys.byId(bytes[body]);
    const sentAt = this.fullTime(readTime(bytes, body + 1));
    if (!key || !this.verifies(key, bytes, sentAt)) {
      throw this.refusal(asBuffer(bytes), key === undefined);
    }
    const skew = this.keys.skewOutside(sentAt);
    if (skew !== undefined) throw this.stale(skew);
    return bytes.subarray(0, body);
  }

  /** The sender's whole time: read from this (opened) datagram's trailer, the high bits from this clock. */
  sentAt(bytes: Uint8Array): number | undefined {
    if (bytes.length < TRAILER_BYTES + 5) return undefined;
    return this.fullTime(readTime(bytes, bytes.length - TRAILER_BYTES + 1));
  }

  /**
   * Why a datagram whose tag does not verify is refused: `unsigned` (a whole message without a trailer),
   * `old-trailer` (a holder of the key sealed it with the 23-byte trailer of an older Herald: an agent to
   * upgrade), `stale` (its clock is in 1970: sentIn1970), else `unknown-key` or `bad-signature`. The old
   * tag is checked only when the header's lengths say the message ends where the old trailer would begin,
   * so junk costs at most two HMACs more.
   */
  private refusal(b: Buffer, unknownKey: boolean): DecodeError {
    const declared = declaredLength(b);
    if (declared === b.length) return unsigned();
    if (declared === b.length - OLD_TRAILER_BYTES && this.oldTagVerifies(b, declared)) {
      return new DecodeError(
        'old-trailer',
        'signed with the cluster key in the trailer of an older Herald (23 bytes, 128-bit tag): upgrade that agent',
      );
    }
    if (unknownKey)
      return new DecodeError(
        'unknown-key',
        `signed with key id ${b[b.length - TRAILER_BYTES]}, which this agent does not hold`,
      );
    const booted = this.sentIn1970(b);
    if (booted !== undefined) return this.stale(booted - this.keys.now());
    // Its own time's high bits are those of 1970: every synced sender's tag fails here, whatever the key.
    const cause = this.keys.now() < TIME_WRAP ? "this agent's clock reads 1970: set it (NTP)" : 'another key';
    return new DecodeError(
      'bad-signature',
      `authentication tag does not match (${cause}, or clocks more than 24.8 days apart)`,
    );
  }

  /**
   * The sender's time if its tag verifies with high bits 0: a clock within 49.7 days of 1970, as a board
   * without a real-time clock boots before NTP sets it. One HMAC more for junk with a held key id.
   */
  private sentIn1970(b: Buffer): number | undefined {
    const body = b.length - TRAILER_BYTES;
    const key = this.keys.byId(b[body]);
    const low = b.readUInt32BE(body + 1);
    if (!key || this.keys.now() < TIME_WRAP) return undefined;
    return this.verifies(key, b, low) ? low : undefined;
  }

  private stale(skew: number): DecodeError {
    return new DecodeError(
      'stale',
      `sent ${Math.round(skew / 1000)} s from this agent's clock, ` +
        `outside the ${this.keys.windowMs / 1000} s window (a replay, or clocks not in sync)`,
    );
  }

  private oldTagVerifies(b: Buffer, body: number): boolean {
    const key = this.keys.byId(b[body]);
    if (!key) return false;
    const expected = Buffer.allocUnsafe(16);
    this.mac(key).write(b, body + 7, undefined, expected, 0, 16);
    return timingSafeEqual(expected, b.subarray(body + 7));
  }

  /**
   * Whether the datagram's tag is the one over the datagram up to its tag, with the sender's whole time
   * (its high 16 bits) after it.
   */
  private verifies(key: ClusterKey, b: Uint8Array, sentAt: number): boolean {
    const signed = b.length - TAG_BYTES;
    this.mac(key).write(b, signed, highBits(sentAt), this.expected, 0, TAG_BYTES);
    return timingSafeEqual(this.expected, b.subarray(signed));
  }

  /** The time nearest this agent's clock whose low 32 bits are `low`: exact within ±24.8 days. */
  private fullTime(low: number): number {
    const now = this.keys.now();
    let t = now - (now % TIME_WRAP) + low;
    if (t - now > TIME_WRAP / 2) t -= TIME_WRAP;
    else if (now - t > TIME_WRAP / 2) t += TIME_WRAP;
    return t;
  }

  private mac(key: ClusterKey): DatagramMac {
    let made = this.macs.get(key);
    if (made === undefined) this.macs.set(key, (made = new DatagramMac(key.secret)));
    return made;
  }
}

/** The high 16 bits of a 48-bit time: covered by the tag, never sent. */
function highBits(ms: number): number {
  return Math.floor(ms / TIME_WRAP) & 0xffff;
}

/** The trailer's 32-bit big-endian time, read from any datagram (readUInt32BE wanted a Buffer made of it). */
function readTime(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** For a refusal's reasons (rare): a datagram from the socket is a Buffer already, one in memory is not. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A whole message without a trailer: judged by the header's lengths alone (declaredLength). */
function unsigned(): DecodeError {
  return new DecodeError('unsigned', 'datagram is not signed (an agent without the cluster key?)');
}
