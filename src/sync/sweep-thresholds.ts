import { MONITORS } from './ring.js';

// The sweep's thresholds (sweep.ts): how much silence, in periods or a peer's intervals, grows to a probe, and how
// many lost agents one agent keeps asking again.

/** A stretched peer's silence is judged by non-monitors in periods of this many of its intervals. */
export const BACKSTOP_INTERVALS = 2;

/**
 * A stretched peer named lost by a distrusted reporter is probed after this many of its intervals of silence,
 * not the backstop's 5, for NOTICED_FOR_INTERVALS after the notice. On an open site anyone can send a notice
 * in a monitor's name from its address: repeated each second, it kept the subject's monitors distrusted, and
 * their true notice of its crash went unheard (40 agents: lost everywhere after 8.5 s, not 2.4 s). Two
 * intervals is one heartbeat missed (its waits are 0.5-1.5 intervals), so a live subject named falsely is
 * probed only by an agent that missed one of its heartbeats, not by every agent at each forged notice.
 */
export const NOTICED_INTERVALS = 2;
export const NOTICED_FOR_INTERVALS = 10;

/**
 * An alive agent whose devices this one holds from a member's answer only (its own endpoint failed the
 * catch-up, as a newcomer's does when the whole site asks it at once) is probed at its endpoint within
 * this many periods, spread at random so that the site's probes do not arrive together (docs/protocol.md).
 */
export const VERIFY_SPREAD_PERIODS = 2;

/** The most lost agents one agent keeps probing again on a stretched site: twice its monitors' subjects. */
export const FORMER_SUBJECTS = 2 * MONITORS;
