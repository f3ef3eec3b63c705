import type { Hello, PeerSummary } from '../transport/transport.js';
import type { Peer } from './peer-table.js';

/**
 * What a probe found: an answer, a refusal (the process is gone), or no answer in time, which says
 * nothing on its own when this agent's event loop was late; `lagged` when its deadline fired so late
 * that this agent's own lag explains the timeout (no evidence either way); `heard` when it timed out but the
 * peer was heard at its endpoint meanwhile (alive after the probe was sent); `busy` when one was under way.
 */
export type ProbeOutcome =
  'alive' | 'refused' | 'no-answer' | 'lagged' | 'heard' | 'other-agent' | 'old-life' | 'busy' | 'stale';

/** How a probe went unanswered (Liveness.unanswered). */
export interface UnansweredProbe {
  /** It timed out (else refused, reset, malformed). */
  timeout: boolean;
  /** The peer was held alive when it was sent. */
  held: boolean;
  /** It was sent to the peer's believed endpoint (not elsewhere: a move's probe). */
  at: boolean;
  /** When it was sent. */
  sent: number;
}

/** What liveness needs from the rest of the sync. */
export interface LivenessHooks {
  /** An answer at the peer's endpoint, to a probe asked in life `asked`: false if it predates a provisional one. */
  answered(peer: Peer, asked: Peer['replica'], incarnation: number): boolean;
  /** A verified answer named this life and version of the peer. */
  heardFrom(peer: Peer, hello: Hello, signal: string): void;
  /** A peer named in a summary: second-hand, so at most a reason to ask it. */
  discover(summary: PeerSummary, from?: string): void;
  forget(peer: Peer): void;
  /** Agents that waited for a place among the unverified: tried again each sweep. */
  admitWaiting(): void;
  /** This agent's own check found a peer gone that others hear too rarely to notice soon: tell them. */
  noticeLost(peer: Peer, gather?: boolean): void;
  /** With the site's key a notice is believed, so it may only follow a confirmed loss. */
  readonly keyed: boolean;
}
