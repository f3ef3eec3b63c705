import { DecodeError, FORMAT_VERSION, HEADER_OFFSETS, MAGIC, MAX_HINTS, Reader, readHint, writeHint } from './codec.js';
import { MessageType, type Hint } from './messages.js';
import { varintLength } from './varint.js';

/**
 * A beat: a keyed agent's unicast heartbeat to its monitors (docs/protocol.md, "Scale"), with only what a
 * monitor does not already hold. The sender names itself as a hint names an origin (name hash, incarnation
 * tag, version); its site, name, incarnation, peer port and interval are the monitor's own record of it,
 * which a beat is taken against only from the datagram endpoint that record holds (sync/beat.ts).
 *
 *   'H' 'R'  format(u8)=1  type(u8)=6  flags(u8)=0
 *   nameHash(u32)  incarnationTag(u16)  version(varint)
 *   hintCount(u8) then per entry: nameHash(u32) incarnationTag(u16) version(varint)
 *
 * 13 bytes with no hints, against 37 for the heartbeat it stands for with the bench's names.
 */
export interface Beat {
  self: Hint;
  hints: Hint[];
}

/** Whether these bytes (opened or not: the trailer is at the end) say they are a beat. */
export function isBeat(bytes: Uint8Array): boolean {
  return bytes.length > HEADER_OFFSETS.type && bytes[HEADER_OFFSETS.type] === MessageType.beat;
}

export function encodeBeat(beat: Beat): Buffer {
  const hints = beat.hints.slice(0, MAX_HINTS);
  const all = [beat.self, ...hints];
  const b = Buffer.allocUnsafe(6 + all.reduce((n, h) => n + 6 + varintLength(h.version), 0));
  b.writeUInt16BE(MAGIC, 0);
  b[HEADER_OFFSETS.format] = FORMAT_VERSION;
  b[HEADER_OFFSETS.type] = MessageType.beat;
  b[HEADER_OFFSETS.flags] = 0;
  let o = writeHint(b, HEADER_OFFSETS.site, beat.self);
  b[o++] = hints.length;
  for (const h of hints) o = writeHint(b, o, h);
  return b;
}

/** Decodes a beat; anything malformed is a DecodeError naming the reason. */
export function decodeBeat(bytes: Uint8Array): Beat {
  const r = new Reader(bytes);
  if (bytes.length < HEADER_OFFSETS.site) throw new DecodeError('short', `datagram of ${bytes.length} bytes`);
  if (r.u16() !== MAGIC) throw new DecodeError('magic', 'not a Herald datagram (bad magic)');
  const format = r.u8();
  if (format !== FORMAT_VERSION) throw new DecodeError('format-version', `format version ${format} is not supported`);
  if (r.u8() !== MessageType.beat) throw new DecodeError('type', 'not a beat');
  const flags = r.u8();
  if (flags !== 0) throw new DecodeError('flags', `unknown flags 0x${flags.toString(16)} on a beat`);
  const self = readHint(r);
  const count = r.u8();
  if (count > MAX_HINTS) throw new DecodeError('hints', `${count} hints, at most ${MAX_HINTS}`);
  const hints: Hint[] = [];
  for (let i = 0; i < count; i++) hints.push(readHint(r));
  if (!r.done()) throw new DecodeError('trailing', `${r.remaining} unexpected bytes after the beat`);
  return { self, hints };
}
