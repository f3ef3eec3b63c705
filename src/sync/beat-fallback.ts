import type { Asker } from '../transport/transport.js';
import { aliveRing } from './ring.js';
import type { SyncContext } from './sync-context.js';

/**
 * How long a monitor that probed this agent twice in a row hears its rounds as whole heartbeats, not beats (open
 * sites only). A minute: a monitor of an older release (which refuses a beat, type 6) then probes its subject
 * about 3 times a minute, not 24; a monitor of this release that was unlucky twice costs a minute's 14 bytes a round.
 */
export const WHOLE_AFTER_PROBE_MS = 60_000;

/**
 * Two plain probes from one monitor within this many liveness periods: what a monitor that cannot read beats does
 * (it probes every 2.5-3.5 periods, each answer resetting its silence). One probe is not enough: a cold start's
 * monitors probe their new subjects once (at 100 agents, 41 % of rounds went whole for the minute after it), and
 * at 30 % loss a round is missed 3 times in a row 2.7 % of the time.
 */
export const SECOND_PROBE_PERIODS = 5;

/**
 * The monitors on an open site that may not read beats (idle19). Until idle19 an open site's rounds were whole
 * heartbeats so that an agent of an older release could share the site during a rolling upgrade; such a
 * monitor drops each beat unread and probes its subject after 2.5 periods of silence. Its probes are the only
 * sign of it a hello gives (the asker names no release), so a monitor that probes this agent twice in a row is
 * sent whole heartbeats for WHOLE_AFTER_PROBE_MS: an older monitor keeps its subject heard and its ring hints.
 * A keyed site upgrades its agents together (its trailer changed in issue 18) and never needs this.
 */
export class BeatFallback {
  /** Monitor names, and until when their rounds are whole heartbeats (monotonic ms). */
  private readonly until = new Map<string, number>();
  /** Monitor names, and when each last probed this agent (monotonic ms). */
  private readonly probedAt = new Map<string, number>();

  constructor(
    private readonly s: SyncContext,
    private readonly keyed: boolean,
  ) {}

  /**
   * A hello from `asker`: a plain one (a liveness probe; not a digest, proof or set check, which monitors of this
   * release ask too) from one of this agent's monitors on an open site, which may not read beats.
   */
  asked(asker: Asker): void {
    if (this.keyed || asker.check !== undefined || asker.gone !== undefined) return;
    if (asker.datagram || asker.digest || asker.set) return;
    if (!aliveRing(this.s).watches(asker.name, this.s.cfg.name)) return;
    const now = this.s.c.clock.monotonic();
    const within = SECOND_PROBE_PERIODS * this.s.cfg.livenessPeriodMs;
    for (const [name, until] of this.until) if (until <= now) this.until.delete(name);
    for (const [name, at] of this.probedAt) if (at < now - within) this.probedAt.delete(name);
    if (this.probedAt.has(asker.name)) this.until.set(asker.name, now + WHOLE_AFTER_PROBE_MS);
    this.probedAt.set(asker.name, now);
  }

  /** Whether this monitor's rounds go as whole heartbeats now. */
  whole(monitor: string): boolean {
    return (this.until.get(monitor) ?? -Infinity) > this.s.c.clock.monotonic();
  }
}
