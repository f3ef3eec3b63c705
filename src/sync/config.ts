import { SITE_HEARTBEAT_BUDGET } from './heartbeat-interval.js';

/** The heartbeat period when none is configured: a lost last announcement is noticed within about this. */
export const DEFAULT_HEARTBEAT_MS = 1000;

export interface ClusterSyncInit {
  name: string;
  site: string;
  incarnation: number;
  /** The peer endpoint's port, advertised in every datagram. */
  peerPort: number;
  heartbeatMs?: number;
  lostAfterPeriods?: number;
  probeAfterPeriods?: number;
  fetchConcurrency?: number;
  fetchTimeoutMs?: number;
  solicitReplyWindowMs?: number;
  forgetAfterMs?: number;
  reorderGraceMs?: number;
  /**
   * The period liveness is judged in (probe after 2.5, lost after 3.5 of them). The heartbeat period
   * with Herald datagrams; longer with mDNS alone, where every check is a TCP probe.
   */
  livenessPeriodMs?: number;
  /**
   * Default true: the heartbeat interval grows with the number of agents on the site and liveness is
   * kept by unicast to a few monitors (docs/protocol.md). False keeps the fixed-interval protocol (every
   * agent multicasts a heartbeat each heartbeatMs, no monitors): a baseline for the benchmark only.
   */
  heartbeatScaling?: boolean;
  /**
   * The site's multicast heartbeat budget on the wire, B/s (SITE_HEARTBEAT_BUDGET). Tests lower it to give
   * a site of 100 agents the rare heartbeats of one of 1,000 (docs/protocol.md, "Scale").
   */
  heartbeatBudget?: number;
}

export type SyncConfig = Required<ClusterSyncInit>;

export function syncDefaults(init: ClusterSyncInit): SyncConfig {
  const heartbeatMs = init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  return {
    ...init,
    heartbeatMs,
    lostAfterPeriods: init.lostAfterPeriods ?? 3.5, // three heartbeats lost in a row is rare even at 30 % loss
    probeAfterPeriods: init.probeAfterPeriods ?? 2.5, // before calling a silent peer lost, ask it directly over TCP
    fetchConcurrency: init.fetchConcurrency ?? 8, // a joining agent does not open 50 connections at once
    fetchTimeoutMs: init.fetchTimeoutMs ?? Math.max(1000, heartbeatMs * 2), // a stuck peer is given up on and retried
    solicitReplyWindowMs: init.solicitReplyWindowMs ?? Math.min(200, heartbeatMs / 4), // spread replies to a newcomer
    forgetAfterMs: init.forgetAfterMs ?? 3_600_000, // an agent gone for an hour is dropped from /v1/agents
    reorderGraceMs: init.reorderGraceMs ?? 25, // a datagram overtaken by the next one usually arrives within this
    livenessPeriodMs: init.livenessPeriodMs ?? heartbeatMs,
    heartbeatScaling: init.heartbeatScaling ?? true,
    heartbeatBudget: init.heartbeatBudget ?? SITE_HEARTBEAT_BUDGET,
  };
}

/**
 * Bounds on what one agent keeps and does about others, so that a flood of names (forged adverts, or
 * datagrams without a key) costs bounded memory and sends a bounded number of requests.
 */
export const SYNC_LIMITS = {
  /** Agents known at once; past it a left or lost one is evicted, or the newcomer refused. */
  peers: 1024,
  /** Agents not yet verified (never answered a probe or catch-up at the endpoint they claim). */
  unverifiedPeers: 128,
  /** Catch-ups waiting for a free connection slot. */
  pendingCatchups: 256,
  /** Retry backoff ceiling for an agent that answered before, and for one that never did. */
  retryMaxMs: 5000,
  unverifiedRetryMaxMs: 60_000,
  /**
   * For its first minute of failed requests, an agent that never answered is retried at the 5 s ceiling
   * too: a real one whose requests failed while it joined (a cut, a partition) is caught up within seconds
   * once they work, while a made-up name that never answers costs the 60 s rate from then on.
   */
  unverifiedQuickRetryMs: 60_000,
  /** An unverified agent that is not alive is forgotten after this, not after an hour. */
  forgetUnverifiedMs: 120_000,
  /** Pages of one snapshot: 64 pages of 1 MiB is far more than any set the profile rules admit. */
  snapshotPages: 64,
} as const;
