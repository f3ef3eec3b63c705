import { decodeMessage, HEADER_OFFSETS } from './codec.js';
import { MessageType, type Message } from './messages.js';

/**
 * The last heartbeat of each agent, by its exact bytes. An idle site repeats itself: every period each
 * peer sends the same heartbeat as the period before, and decoding it again (two strings, their checks,
 * the hints) was most of what an idle agent spent its CPU on. Only a byte-identical datagram hits, so
 * the answer is always the one decoding would give; with a cluster key the bytes are those inside the
 * envelope, after it was verified. The messages handed out are frozen: they are shared between calls.
 */
export class HeartbeatMemo {
  private readonly byBytes = new Map<string, Message>();
  private readonly keyByAgent = new Map<string, string>();

  /** Bounds the memo when a LAN is full of names: past it, the memo starts over. */
  constructor(private readonly capacity = 1024) {}

  decode(bytes: Uint8Array): Message {
    // Only heartbeats repeat: anything else is decoded as it comes, without making a key of its bytes.
    if (bytes[HEADER_OFFSETS.type] !== MessageType.heartbeat) return decodeMessage(bytes);
    const key = (
      Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    ).toString('latin1');
    const known = this.byBytes.get(key);
    if (known) return known;
    const msg = decodeMessage(bytes);
    if (msg.type !== MessageType.heartbeat) return msg;
    // One entry per agent: its newest heartbeat replaces the one before.
    const agent = `${msg.site}\0${msg.name}`;
    const previous = this.keyByAgent.get(agent);
    if (previous !== undefined) this.byBytes.delete(previous);
    else if (this.keyByAgent.size >= this.capacity) {
      this.keyByAgent.clear();
      this.byBytes.clear();
    }
    Object.freeze(msg.hints);
    Object.freeze(msg);
    this.keyByAgent.set(agent, key);
    this.byBytes.set(key, msg);
    return msg;
  }
}
