import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Delta } from '../directory/delta.js';
import { DEVICE_ID_PATTERN, PROFILE_LIMITS } from '../profiles/model.js';
import { isObject, validateDevice } from '../profiles/validate.js';
import { DecodeError, Reader, utf8 } from './reader.js';
import { varintLength, writeVarint } from './varint.js';
import { MESSAGE_TYPE_NAMES, type Message, type MessageType, type Hint } from './messages.js';

/**
 * Wire format 1 (all integers big-endian or unsigned LEB128 varints):
 *
 *   'H' 'R'  format(u8)=1  type(u8)  flags(u8)
 *   site(u8 length + UTF-8)  name(u8 length + UTF-8)
 *   incarnation(varint)  version(varint)  peerPort(u16)
 *   hintCount(u8) then per entry: nameHash(u32) incarnationTag(u16) version(varint)
 *   [flags & INTERVAL] intervalMs(varint)
 *   [flags & VIEW] view digest(u32): heartbeats only
 *   [flags & DELTA] deltaLength(varint) delta(JSON, deflate-raw when flags & DEFLATED: only if it would not fit)
 * A receiver drops a datagram with another magic or a newer format: agents of two releases can share a
 * LAN while it is upgraded, each ignoring what it cannot read.
 */
export const MAGIC = 0x4852;
export const FORMAT_VERSION = 1;
/** Keeps a datagram within one Ethernet frame with room for IP, UDP and an authentication trailer. */
export const MAX_DATAGRAM = 1200;
export const MAX_HINTS = 8;
/** Offsets in the fixed part of the header: magic (2 bytes), format version (1), type (1), flags (1). */
export const HEADER_OFFSETS = { format: 2, type: 3, flags: 4, site: 5 } as const;
const FLAG_DELTA = 1;
const FLAG_DEFLATED = 2;
const FLAG_INTERVAL = 4;
const FLAG_VIEW = 8;
/** The view digest's bytes on a heartbeat (FLAG_VIEW). */
export const VIEW_DIGEST_BYTES = 4;

/**
 * A heartbeat's length as the multicast interval is sized by (HeartbeatInterval.sized): without its view digest.
 * Counted, its 4 bytes stretched every interval ~5 %, and a vanished host with late monitors was lost by all in 7.0 s,
 * not 5.5 (attacks/notice-held-back; bound 6.5 s): the digest is paid for above the budget, not by liveness.
 */
export function intervalBytes(msg: Message, length: number): number {
  return length - (msg.view === undefined ? 0 : VIEW_DIGEST_BYTES);
}
const BEAT = 6; // MessageType.beat and those after it (challenge, echo): layouts of their own (beat.ts, challenge.ts)
/** A delta inflated past this is hostile or broken: catch-up over HTTP can carry anything larger. */
const MAX_INFLATED_DELTA = 64 * 1024;

export { DecodeError, Reader };

export interface EncodeOptions {
  /** Bytes to leave free at the end (the authentication trailer). */
  reserve?: number;
}

/** Encodes a message; a delta that does not fit is left out (the receiver then fetches it). */
export function encodeMessage(msg: Message, opts: EncodeOptions = {}): { bytes: Buffer; deltaIncluded: boolean } {
  const budget = MAX_DATAGRAM - (opts.reserve ?? 0);
  const head = encodeHead(
    msg,
    (msg.intervalMs === undefined ? 0 : FLAG_INTERVAL) | (msg.view === undefined ? 0 : FLAG_VIEW),
  );
  if (!msg.delta) return { bytes: head, deltaIncluded: false };
  const json = Buffer.from(JSON.stringify(msg.delta), 'utf8');
  const sized = (n: number) => head.length + varintLength(n) + n;
  let [payload, flags] = [json, FLAG_DELTA];
  // Deflated only if the JSON would not fit: each receiver inflates its copy (a zlib stream, as costly as the
  // parse), and bytes a datagram that fits saves are not worth that.
  if (sized(json.length) > budget) {
    const packed = deflateRawSync(json, { level: 6 });
    if (packed.length < json.length) {
      payload = packed;
      flags |= FLAG_DEFLATED;
    }
  }
  const total = sized(payload.length);
  if (total > budget) return { bytes: head, deltaIncluded: false };
  const out = Buffer.allocUnsafe(total);
  head.copy(out, 0);
  out[HEADER_OFFSETS.flags] |= flags; // the flags byte is the only part of the head that a delta changes
  payload.copy(out, writeVarint(out, head.length, payload.length));
  return { bytes: out, deltaIncluded: true };
}

function encodeHead(msg: Message, flags: number): Buffer {
  const site = Buffer.from(msg.site, 'utf8');
  const name = Buffer.from(msg.name, 'utf8');
  if (site.length > 255 || name.length > 255) throw new Error('site and name must be at most 255 bytes');
  const hints = msg.hints.slice(0, MAX_HINTS);
  const size =
    5 +
    1 +
    site.length +
    1 +
    name.length +
    varintLength(msg.incarnation) +
    varintLength(msg.version) +
    2 +
    1 +
    hints.reduce((n, r) => n + 6 + varintLength(r.version), 0) +
    (msg.intervalMs === undefined ? 0 : varintLength(msg.intervalMs)) +
    (msg.view === undefined ? 0 : VIEW_DIGEST_BYTES);
  const b = Buffer.allocUnsafe(size);
  b.writeUInt16BE(MAGIC, 0);
  b[2] = FORMAT_VERSION;
  b[3] = msg.type;
  b[4] = flags;
  let o = 5;
  b[o++] = site.length;
  site.copy(b, o);
  o += site.length;
  b[o++] = name.length;
  name.copy(b, o);
  o += name.length;
  o = writeVarint(b, o, msg.incarnation);
  o = writeVarint(b, o, msg.version);
  b.writeUInt16BE(msg.peerPort, o);
  o += 2;
  b[o++] = hints.length;
  for (const h of hints) o = writeHint(b, o, h);
  if (msg.intervalMs !== undefined) o = writeVarint(b, o, msg.intervalMs);
  if (msg.view !== undefined) b.writeUInt32BE(msg.view >>> 0, o);
  return b;
}

/** One hint on the wire (heartbeats, announcements, beats): nameHash(u32) incarnationTag(u16) version(varint). */
export function writeHint(b: Buffer, o: number, h: Hint): number {
  b.writeUInt32BE(h.nameHash >>> 0, o);
  b.writeUInt16BE(h.incarnationTag & 0xffff, o + 4);
  return writeVarint(b, o + 6, h.version);
}

export function readHint(r: Reader): Hint {
  return { nameHash: r.u32(), incarnationTag: r.u16(), version: r.varint() };
}

/**
 * The length a datagram's header says its message has, from the length fields alone (nothing inflated,
 * parsed or validated): a keyed agent tells an unsigned message (its length is the datagram's) from a
 * forged tag with it. Undefined when the bytes do not start a Herald message of this format.
 */
export function declaredLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_OFFSETS.site || ((bytes[0] << 8) | bytes[1]) !== MAGIC) return undefined;
  if (bytes[HEADER_OFFSETS.format] !== FORMAT_VERSION) return undefined;
  const r = new Reader(bytes, HEADER_OFFSETS.site);
  try {
    r.bytes(r.u8()); // site
    r.bytes(r.u8()); // name
    r.varint(); // incarnation
    r.varint(); // version
    r.u16(); // peer port
    for (let i = r.u8(); i > 0; i--) {
      r.bytes(6); // a hint: name hash and incarnation tag, then its version
      r.varint();
    }
    if (bytes[HEADER_OFFSETS.flags] & FLAG_INTERVAL) r.varint();
    if (bytes[HEADER_OFFSETS.flags] & FLAG_VIEW) r.bytes(4);
    if (bytes[HEADER_OFFSETS.flags] & FLAG_DELTA) r.bytes(r.varint());
    return bytes.length - r.remaining;
  } catch {
    return undefined;
  }
}

/** Decodes and validates a datagram; anything malformed is a DecodeError naming the reason. */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new Reader(bytes);
  if (bytes.length < 5) throw new DecodeError('short', `datagram of ${bytes.length} bytes is shorter than a header`);
  if (r.u16() !== MAGIC) throw new DecodeError('magic', 'not a Herald datagram (bad magic)');
  const format = r.u8();
  if (format !== FORMAT_VERSION)
    throw new DecodeError(
      'format-version',
      `format version ${format} is not supported (this agent reads ${FORMAT_VERSION})`,
    );
  const type = r.u8();
  if (!MESSAGE_TYPE_NAMES[type]) throw new DecodeError('type', `unknown message type ${type}`);
  if (type >= BEAT) throw new DecodeError('type', `a ${MESSAGE_TYPE_NAMES[type]} has a layout of its own`);
  const flags = r.u8();
  if (flags & ~(FLAG_DELTA | FLAG_DEFLATED | FLAG_INTERVAL | FLAG_VIEW))
    throw new DecodeError('flags', `unknown flags 0x${flags.toString(16)}`);
  const site = r.str();
  const name = r.str();
  if (!DEVICE_ID_PATTERN.test(name)) throw new DecodeError('name', `agent name '${name.slice(0, 64)}' is not valid`);
  if (!DEVICE_ID_PATTERN.test(site)) throw new DecodeError('site', `site '${site.slice(0, 64)}' is not valid`);
  const incarnation = r.varint();
  const version = r.varint();
  const peerPort = r.u16();
  const count = r.u8();
  if (count > MAX_HINTS) throw new DecodeError('hints', `${count} hints, at most ${MAX_HINTS}`);
  const hints: Hint[] = [];
  for (let i = 0; i < count; i++) hints.push(readHint(r));
  const msg: Message = { type: type as MessageType, site, name, incarnation, version, peerPort, hints };
  if (flags & FLAG_INTERVAL) msg.intervalMs = r.varint();
  if (flags & FLAG_VIEW) {
    if (type !== 2) throw new DecodeError('flags', 'only heartbeats carry a view digest');
    msg.view = r.u32();
  }
  if (flags & FLAG_DELTA) {
    if (type !== 1) throw new DecodeError('flags', 'only announcements carry a delta');
    const payload = r.bytes(r.varint());
    msg.delta = parseDelta(flags & FLAG_DEFLATED ? inflated(payload) : utf8(payload), version);
  }
  if (!r.done()) throw new DecodeError('trailing', `${r.remaining} unexpected bytes after the message`);
  return msg;
}

function inflated(payload: Uint8Array): string {
  try {
    return inflateRawSync(payload, { maxOutputLength: MAX_INFLATED_DELTA }).toString('utf8');
  } catch (err) {
    throw new DecodeError('delta', `delta does not inflate: ${(err as Error).message}`);
  }
}

/** Checks a delta from the network with the same rules as a local profile: one gate for device data. */
export function parseDelta(text: string, expectedVersion?: number): Delta {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DecodeError('delta', 'delta is not valid JSON');
  }
  return checkDelta(value, expectedVersion);
}

export function checkDelta(value: unknown, expectedVersion?: number): Delta {
  if (!isObject(value)) throw new DecodeError('delta', 'delta is not an object');
  const { version, added, updated, removed } = value;
  if (!Number.isSafeInteger(version) || (version as number) < 1)
    throw new DecodeError('delta', 'delta version is not a positive integer');
  if (expectedVersion !== undefined && version !== expectedVersion) {
    throw new DecodeError('delta', `delta version ${String(version)} does not match the header's ${expectedVersion}`);
  }
  if (!Array.isArray(added) || !Array.isArray(updated) || !Array.isArray(removed))
    throw new DecodeError('delta', 'delta lists are missing');
  if (added.length + updated.length + removed.length > PROFILE_LIMITS.devicesPerAgent) {
    throw new DecodeError('too-many-devices', `delta names more than ${PROFILE_LIMITS.devicesPerAgent} devices`);
  }
  const check = (list: unknown[], what: string) =>
    list.map((d, i) => {
      const result = validateDevice(d);
      if (!result.ok)
        throw new DecodeError('device', `${what}[${i}] is not a valid device: ${result.errors[0].message}`);
      return result.device;
    });
  for (const id of removed) {
    if (typeof id !== 'string' || !DEVICE_ID_PATTERN.test(id))
      throw new DecodeError('delta', 'removed holds an invalid device id');
  }
  return {
    version: version as number,
    added: check(added, 'added'),
    updated: check(updated, 'updated'),
    removed: removed as string[],
  };
}
