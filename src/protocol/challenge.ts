import { DecodeError, FORMAT_VERSION, HEADER_OFFSETS, MAGIC, Reader } from './codec.js';
import { MessageType } from './messages.js';
import { varintLength, writeVarint } from './varint.js';

/**
 * An open site's announce challenge (docs/protocol.md, *An announcer's check by datagram*): a checker sends a nonce
 * to the datagram endpoint an unsigned announcement came from; the agent there, if it is the agent named, echoes the
 * nonce with its life, version and the digest of its set. Two fixed-layout datagrams:
 *
 *   challenge: 'H' 'R'  format(u8)=1  type(u8)=7  flags(u8)=0  nonce(8)  nameHash(u32)  zeros to CHALLENGE_BYTES
 *   echo:      'H' 'R'  format(u8)=1  type(u8)=8  flags(u8)  nonce(8)  nameHash(u32)  incarnation(varint)
 *              version(varint)  setDigest(8)  [flags & 1: counter-nonce(8)]
 *
 * The challenge is padded to the largest echo (two varints of 8 bytes and a counter-nonce), so an echo is never
 * larger than the challenge that drew it: a forged source address reflects no more bytes than its sender spent. An
 * echo's counter-nonce asks the challenger the same of itself: it answers with an echo of that nonce (no
 * counter-nonce), once, and only to the endpoint it challenged whose echo named its own nonce.
 */
export const NONCE_BYTES = 8;
/** The set digest's bytes (directory setDigest: 16 hex digits). */
const DIGEST_BYTES = 8;
/** Header, nonce, name hash: the part both datagrams share. */
const SHARED_BYTES = HEADER_OFFSETS.site + NONCE_BYTES + 4;
/** A challenge's fixed size: the largest echo (incarnation and version each a varint of at most 8 bytes). */
export const CHALLENGE_BYTES = SHARED_BYTES + 8 + 8 + DIGEST_BYTES + NONCE_BYTES;
/** An echo's flag: a counter-nonce follows the digest. */
const FLAG_COUNTER = 1;

export interface Challenge {
  nonce: Uint8Array;
  /** FNV-1a 32 of the name of the agent asked: any other agent at that endpoint stays silent. */
  nameHash: number;
}

export interface Echo extends Challenge {
  incarnation: number;
  version: number;
  /** The answerer's set digest, 16 hex digits (Directory.setDigest). */
  setDigest: string;
  /** The answerer's own nonce for the challenger, asking it the same of itself (a reply echo). */
  counter?: Uint8Array;
}

/** The type a datagram's header names, when it is a challenge or an echo (read before any other decoding). */
export function challengeKind(bytes: Uint8Array): 'challenge' | 'echo' | undefined {
  if (bytes.length <= HEADER_OFFSETS.type) return undefined;
  const type = bytes[HEADER_OFFSETS.type];
  return type === MessageType.challenge ? 'challenge' : type === MessageType.echo ? 'echo' : undefined;
}

function header(b: Buffer, type: number, c: Challenge, flags = 0): number {
  b.writeUInt16BE(MAGIC, 0);
  b[HEADER_OFFSETS.format] = FORMAT_VERSION;
  b[HEADER_OFFSETS.type] = type;
  b[HEADER_OFFSETS.flags] = flags;
  Buffer.from(c.nonce).copy(b, HEADER_OFFSETS.site, 0, NONCE_BYTES);
  b.writeUInt32BE(c.nameHash >>> 0, HEADER_OFFSETS.site + NONCE_BYTES);
  return SHARED_BYTES;
}

export function encodeChallenge(c: Challenge): Buffer {
  const b = Buffer.alloc(CHALLENGE_BYTES);
  header(b, MessageType.challenge, c);
  return b;
}

export function encodeEcho(e: Echo): Buffer {
  const counter = e.counter ? NONCE_BYTES : 0;
  const b = Buffer.alloc(SHARED_BYTES + varintLength(e.incarnation) + varintLength(e.version) + DIGEST_BYTES + counter);
  let o = header(b, MessageType.echo, e, e.counter ? FLAG_COUNTER : 0);
  o = writeVarint(b, o, e.incarnation);
  o = writeVarint(b, o, e.version);
  o += b.write(e.setDigest, o, DIGEST_BYTES, 'hex');
  if (e.counter) Buffer.from(e.counter).copy(b, o, 0, NONCE_BYTES);
  return b;
}

function readShared(bytes: Uint8Array, type: number): { r: Reader; c: Challenge; flags: number } {
  if (bytes.length < SHARED_BYTES) throw new DecodeError('short', `datagram of ${bytes.length} bytes`);
  const r = new Reader(bytes);
  if (r.u16() !== MAGIC) throw new DecodeError('magic', 'not a Herald datagram (bad magic)');
  const format = r.u8();
  if (format !== FORMAT_VERSION) throw new DecodeError('format-version', `format version ${format} is not supported`);
  if (r.u8() !== type) throw new DecodeError('type', `not a ${type === MessageType.echo ? 'echo' : 'challenge'}`);
  const flags = r.u8();
  if (flags & ~(type === MessageType.echo ? FLAG_COUNTER : 0))
    throw new DecodeError('flags', `unknown flags 0x${flags.toString(16)}`);
  const nonce = Uint8Array.from(r.bytes(NONCE_BYTES));
  return { r, c: { nonce, nameHash: r.u32() }, flags };
}

/** A challenge: exactly CHALLENGE_BYTES, its padding zeros (a shorter one would draw an echo larger than itself). */
export function decodeChallenge(bytes: Uint8Array): Challenge {
  const { c } = readShared(bytes, MessageType.challenge);
  if (bytes.length !== CHALLENGE_BYTES)
    throw new DecodeError('length', `a challenge of ${bytes.length} bytes, not ${CHALLENGE_BYTES}`);
  if (bytes.subarray(SHARED_BYTES).some((x) => x !== 0))
    throw new DecodeError('padding', 'a challenge padded with data');
  return c;
}

export function decodeEcho(bytes: Uint8Array): Echo {
  const { r, c, flags } = readShared(bytes, MessageType.echo);
  const incarnation = r.varint();
  const version = r.varint();
  const setDigest = Buffer.from(r.bytes(DIGEST_BYTES)).toString('hex');
  const counter = flags & FLAG_COUNTER ? Uint8Array.from(r.bytes(NONCE_BYTES)) : undefined;
  if (!r.done()) throw new DecodeError('trailing', `${r.remaining} unexpected bytes after the echo`);
  return counter ? { ...c, incarnation, version, setDigest, counter } : { ...c, incarnation, version, setDigest };
}
