import type { Directory } from '../directory/directory.js';
import type { LocalDeviceSet } from '../directory/local-device-set.js';
import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { Envelope } from '../protocol/envelope.js';
import { MESSAGE_TYPE_NAMES } from '../protocol/messages.js';
import type { Asker, DatagramKind, DatagramTransport, Endpoint, PeerClient } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { SyncConfig } from './config.js';
import type { Hints } from './hints.js';
import type { PeerTable } from './peer-table.js';
import type { Membership } from './ring.js';

export interface ClusterSyncComponents {
  directory: Directory;
  local: LocalDeviceSet;
  /** The Herald datagram transport; absent with --discovery mdns, where mDNS carries advertisements. */
  transport?: DatagramTransport;
  peers: PeerClient;
  clock: Clock;
  random: Random;
  logger: Logger;
  metrics: HeraldMetrics;
  envelope?: Envelope;
  /**
   * Whether an address is on this agent's link (its interface's subnet). Absent when the link is not
   * known: then no endpoint a peer names second-hand is asked before it answers a verification probe.
   */
  onLink?: (address: string) => boolean;
  /**
   * Runs work that can wait until the datagrams read in this turn of the loop are handled (setImmediate on real
   * sockets): a datagram's hints, so that agents sharing a loop apply one change's copies one after the other
   * without each one's hint pass in between (change14). Absent: at once, as the simulator and unit tests run.
   */
  defer?: (work: () => void) => void;
  /** Unpredictable bytes for an announce challenge's nonce (challenges.ts); absent: node:crypto's randomBytes. */
  nonce?: (bytes: number) => Uint8Array;
}

/** How a message reached this agent. */
export interface Arrival {
  from: Endpoint;
  /** A Herald datagram that passed the envelope (signed, when a key is set); not an mDNS record. */
  datagram: boolean;
  /** The sender's time from the envelope, when it carries one. */
  sentAt?: number;
  signal?: string;
  /** Set when the envelope's time says the datagram is not newer than one heard from the sender. */
  replay?: boolean;
}

/** Counters bumped for every datagram, bound to their labels once. */
export interface DatagramCounters {
  bytesReceived: Record<DatagramKind, { inc(by?: number): void }>;
  heartbeats: { inc(by?: number): void };
  received: Map<string, { inc(by?: number): void }>;
}

export function datagramCounters(metrics: HeraldMetrics): DatagramCounters {
  return {
    bytesReceived: {
      multicast: metrics.datagramBytesReceived.labelled({ kind: 'multicast' }),
      unicast: metrics.datagramBytesReceived.labelled({ kind: 'unicast' }),
    },
    heartbeats: metrics.announcementsReceived.labelled({ type: 'heartbeat' }),
    received: new Map(
      Object.values(MESSAGE_TYPE_NAMES).map((type) => [type, metrics.announcementsReceived.labelled({ type })]),
    ),
  };
}

/** What the parts of the sync (catch-up, liveness) share with the message handling. */
export interface SyncContext {
  readonly c: ClusterSyncComponents;
  readonly cfg: SyncConfig;
  readonly peers: PeerTable;
  readonly hints: Hints;
  /** Who counts as a member, and their ring: cached until the peer table or the directory's states move. */
  readonly members: Membership;
  readonly bounds: BoundsLog;
  /** This agent, as it names itself when it asks a peer (a hello). */
  readonly self: Asker;
  running(): boolean;
  /**
   * This agent's own multicast interval while the site's size stretches it; undefined on a small site. With
   * `members` (Membership.held, ring.ts judgingIntervalMs), the interval of a site of that many instead.
   */
  siteIntervalMs(members?: number): number | undefined;
  /** A probe or catch-up at the peer's believed endpoint failed: the discoveries may ask where it is now. */
  unreachable(name: string, timedOut?: boolean): void;
  /** An unverified agent answered at its endpoint: its place among the unverified is free for a waiting one. */
  placeFreed(): void;
  /** A heartbeat at once: this agent hears the site after a cut-off, and may be held lost (rejoin.ts). */
  refute(): void;
}

/** A bound that refused or evicted something: counted every time, logged once an hour per kind. */
export class BoundsLog {
  private readonly log: RateLimitedLog;

  constructor(private readonly c: { clock: Clock; logger: Logger; metrics: HeraldMetrics }) {
    this.log = new RateLimitedLog(c.clock, 3_600_000);
  }

  hit(reason: string, detail: Record<string, unknown>): void {
    this.c.metrics.invalidInput.inc({ source: 'sync', reason });
    if (this.log.allow(reason)) this.c.logger.warn({ reason, ...detail }, 'a sync bound was reached');
  }
}
