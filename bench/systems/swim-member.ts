import type { Device } from '../../src/profiles/model.js';
import { LAN, retransmitLimit, suspicionTimeoutMs, type Broadcast, type MemberState } from './swim-wire.js';

/**
 * One SWIM member's view of the others and its queue of news to piggy-back, after memberlist's
 * state.go: alive / suspect / dead with incarnation numbers, refutation by the suspect, a suspicion
 * timer before dead. The app state (the device set and its version) rides on alive messages.
 */

export interface Peer extends MemberState {
  suspicion: NodeJS.Timeout | undefined;
}

interface Queued {
  b: Broadcast;
  sent: number;
}

export interface MemberHooks {
  /** A peer's version or state changed in this member's view. */
  progressed(origin: string): void;
}

/** Newer when the incarnation is, or the same incarnation carries a later version of the app state. */
function newer(b: { inc: number; version: number }, p: { inc: number; version: number }): boolean {
  return b.inc > p.inc || (b.inc === p.inc && b.version > p.version);
}

function mergeDevices(held: Device[], update: Device[]): Device[] {
  const byId = new Map(held.map((d) => [d.id, d]));
  for (const d of update) byId.set(d.id, d);
  return [...byId.values()];
}

function memberState(p: Peer): MemberState {
  return { name: p.name, port: p.port, inc: p.inc, version: p.version, state: p.state, devices: p.devices };
}

export class SwimView {
  readonly peers = new Map<string, Peer>();
  inc = 1;
  version = 1;
  private queue: Queued[] = [];
  /** How many members this one knows: the λ·log N of its retransmit limit and suspicion timeout. */
  get size(): number {
    return this.peers.size + 1;
  }

  constructor(
    readonly name: string,
    public port: number,
    public devices: Device[],
    private readonly hooks: MemberHooks,
  ) {}

  /** Queues news, replacing older news about the same member (memberlist's TransmitLimitedQueue). */
  enqueue(b: Broadcast): void {
    this.queue = this.queue.filter((q) => q.b.name !== b.name);
    this.queue.push({ b, sent: 0 });
  }

  hasNews(): boolean {
    return this.queue.length > 0;
  }

  /** The least-sent news that fits one packet (at least one), each counted as sent once more. */
  piggyback(): Broadcast[] {
    const limit = retransmitLimit(this.peers.size + 1);
    this.queue.sort((a, b) => a.sent - b.sent);
    const out: Broadcast[] = [];
    let bytes = 0;
    for (const q of this.queue) {
      const size = JSON.stringify(q.b).length;
      if (out.length > 0 && bytes + size > LAN.udpBufferSize) break;
      out.push(q.b);
      bytes += size;
      q.sent += 1;
    }
    this.queue = this.queue.filter((q) => q.sent < limit);
    return out;
  }

  selfAlive(devices: Device[]): Broadcast {
    return { k: 'alive', name: this.name, port: this.port, inc: this.inc, version: this.version, devices };
  }

  /**
   * The app changed: a new version, spread as the changed devices only. Joins and refutations carry
   * no devices (memberlist caps a member's meta at 512 bytes); the whole set travels by push-pull.
   */
  changed(devices: Device[]): void {
    const before = new Map(this.devices.map((d) => [d.id, JSON.stringify(d)]));
    const delta = devices.filter((d) => before.get(d.id) !== JSON.stringify(d));
    this.devices = devices;
    this.version += 1;
    this.enqueue(this.selfAlive(delta));
  }

  /** News heard; `whole` when a push-pull carried it, whose device sets are not gossiped on. */
  apply(b: Broadcast, whole = false): void {
    if (b.name === this.name) return this.aboutSelf(b);
    if (b.k === 'alive') return this.alive(b, whole);
    const p = this.peers.get(b.name);
    if (!p || b.inc < p.inc || p.state === 'dead') return;
    if (b.k === 'dead') return this.dead(p, b);
    if (p.state === 'alive') this.suspect(p, b.from);
  }

  /** Suspicion or death reported about this member: refute it with a higher incarnation. */
  private aboutSelf(b: Broadcast): void {
    if (b.k === 'alive' || b.inc < this.inc) return;
    this.inc = b.inc + 1;
    this.enqueue(this.selfAlive([]));
  }

  private alive(b: Extract<Broadcast, { k: 'alive' }>, whole: boolean): void {
    const p = this.peers.get(b.name);
    if (!p) {
      this.peers.set(b.name, { ...b, state: 'alive', suspicion: undefined });
    } else {
      // A push-pull's state fills in devices that gossip about a join did not carry.
      if (b.version === p.version && p.devices.length === 0) p.devices = b.devices;
      if (!newer(b, p)) return;
      if (b.inc > p.inc) {
        clearTimeout(p.suspicion);
        p.suspicion = undefined;
        p.state = 'alive';
      }
      if (b.version > p.version) p.devices = mergeDevices(p.devices, b.devices);
      Object.assign(p, { inc: b.inc, version: Math.max(p.version, b.version), port: b.port });
    }
    this.enqueue(whole ? { ...b, devices: [] } : b);
    this.hooks.progressed(b.name);
  }

  /** Suspected by `from` (this member or gossip): dead unless refuted within the suspicion timeout. */
  suspect(p: Peer, from: string): void {
    if (p.state !== 'alive') return;
    p.state = 'suspect';
    this.enqueue({ k: 'suspect', name: p.name, inc: p.inc, from });
    p.suspicion = setTimeout(
      () => {
        if (p.state === 'suspect') this.dead(p, { k: 'dead', name: p.name, inc: p.inc, from: this.name });
      },
      suspicionTimeoutMs(this.peers.size + 1),
    );
  }

  private dead(p: Peer, b: Broadcast): void {
    clearTimeout(p.suspicion);
    p.suspicion = undefined;
    p.state = 'dead';
    this.enqueue(b);
    this.hooks.progressed(p.name);
  }

  /** A push-pull brought another member's whole view: merged as memberlist's mergeState does. */
  merge(remote: MemberState[]): void {
    for (const m of remote) {
      if (m.state === 'alive') this.apply({ k: 'alive', ...m }, true);
      else this.apply({ k: 'suspect', name: m.name, inc: m.inc, from: this.name });
    }
  }

  state(): MemberState[] {
    const self = { name: this.name, port: this.port, inc: this.inc, version: this.version, devices: this.devices };
    return [{ ...self, state: 'alive' as const }, ...[...this.peers.values()].map(memberState)];
  }

  live(): Peer[] {
    return [...this.peers.values()].filter((p) => p.state !== 'dead');
  }

  stop(): void {
    for (const p of this.peers.values()) clearTimeout(p.suspicion);
  }
}
