import type { Clock } from '../util/clock.js';
import type { ClusterKey, KeyRing } from './cluster-key.js';

/**
 * What both uses of the cluster key share (datagram tags and peer request signatures): the key ring in
 * use, replaced at once on SIGHUP, and the window of sender time around this agent's clock outside
 * which a signed message is refused as stale (an old capture replayed, or clocks out of sync).
 */
export class KeyWindow {
  constructor(
    private keys: KeyRing,
    private readonly clock: Clock,
    readonly windowMs = 120_000,
  ) {}

  /** Takes a new key ring at once (SIGHUP after a key file edit): rotation without a restart. */
  setKeys(keys: KeyRing): void {
    this.keys = keys;
  }

  get signing(): ClusterKey {
    return this.keys.signing;
  }

  byId(id: number): ClusterKey | undefined {
    return this.keys.all.find((k) => k.id === id);
  }

  /** The time a message is signed with, in whole milliseconds. */
  now(): number {
    return Math.floor(this.clock.now());
  }

  /** How far a sender's time is from this agent's clock, when it is outside the window; else undefined. */
  skewOutside(sentMs: number): number | undefined {
    const skew = sentMs - this.clock.now();
    return Math.abs(skew) > this.windowMs ? skew : undefined;
  }
}
