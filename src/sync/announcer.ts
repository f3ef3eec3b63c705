import type { Delta } from '../directory/delta.js';
import { encodeMessage } from '../protocol/codec.js';
import type { Envelope } from '../protocol/envelope.js';
import { MESSAGE_TYPE_NAMES, MessageType, type Message } from '../protocol/messages.js';
import type { TimerHandle } from '../util/clock.js';
import { jitter } from '../util/random.js';
import type { SyncContext } from './sync-context.js';

/** What this agent says on the LAN: announcements, heartbeats (with hints), solicits and goodbyes. */
export class Announcer {
  private timer: TimerHandle | undefined;
  private solicitedReply = false;

  constructor(
    private readonly s: SyncContext,
    private readonly envelope: Envelope,
  ) {}

  /** Tells the site who we are (with our whole set when it fits), then asks peers to say who they are. */
  start(): void {
    const first = this.s.c.directory.changesSince(this.s.cfg.name, this.s.cfg.incarnation, 0);
    const delta = first?.kind === 'deltas' && first.deltas.length === 1 ? first.deltas[0] : undefined;
    this.send(MessageType.announce, delta);
    this.send(MessageType.solicit);
    this.schedule(jitter(this.s.c.random, this.s.cfg.heartbeatMs, 0.2));
  }

  /** A goodbye, twice, as it cannot be repaired later. */
  stop(goodbye: boolean): void {
    this.s.c.clock.clearTimeout(this.timer);
    if (!goodbye) return;
    this.send(MessageType.goodbye);
    this.send(MessageType.goodbye);
  }

  announce(delta: Delta): void {
    this.send(MessageType.announce, delta);
    // An announcement says all a heartbeat says: the next heartbeat is a full period away.
    this.schedule(jitter(this.s.c.random, this.s.cfg.heartbeatMs, 0.2));
  }

  /** A newcomer asked: answer within a short random window, once, so replies do not collide. */
  replyToSolicit(): void {
    if (this.solicitedReply) return;
    this.solicitedReply = true;
    this.schedule(this.s.c.random() * this.s.cfg.solicitReplyWindowMs);
  }

  private send(type: MessageType, delta?: Delta): void {
    const transport = this.s.c.transport;
    if (!transport) return;
    const msg: Message = {
      type,
      site: this.s.cfg.site,
      name: this.s.cfg.name,
      incarnation: this.s.cfg.incarnation,
      version: this.s.c.local.currentVersion,
      peerPort: this.s.cfg.peerPort,
      hints: type === MessageType.heartbeat || type === MessageType.announce ? this.s.hints.list() : [],
    };
    if (delta) msg.delta = delta;
    const { bytes } = encodeMessage(msg, { reserve: this.envelope.overhead });
    const sealed = this.envelope.seal(bytes);
    transport.send(sealed);
    this.s.c.metrics.announcementsSent.inc({ type: MESSAGE_TYPE_NAMES[type] });
    this.s.c.metrics.datagramBytesSent.inc({ kind: 'multicast' }, sealed.length);
  }

  private schedule(delay: number): void {
    this.s.c.clock.clearTimeout(this.timer);
    this.timer = this.s.c.clock.setTimeout(() => {
      if (!this.s.running()) return;
      this.solicitedReply = false;
      this.send(MessageType.heartbeat);
      this.schedule(jitter(this.s.c.random, this.s.cfg.heartbeatMs, 0.2));
    }, delay);
    this.timer.unref?.();
  }
}
