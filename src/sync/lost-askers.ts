/**
 * Periods within which hellos holding this agent's current life lost (`lost=I`) from two different askers count as
 * one loss held by several viewers, which a multicast refutation is for. A lone asker is answered by the hello
 * itself: its probe's answer revives this agent at that viewer, and no other viewer asked.
 */
export const ASKERS_WINDOW_PERIODS = 2;

/**
 * At most one refutation multicast asked by hellos in this many periods, whoever asks: a member (anyone on an open
 * site, any key holder on a keyed one) asking every agent once a second under two names made every agent multicast
 * every period (attack20: 152 -> 1,962 multicasts heard in 20 s at 100 agents). Viewers that lose it again within
 * these periods are each revived by their own recheck's answer, or by the next refutation.
 */
export const ASKED_REFUTE_PERIODS = 4;

/** The most recent askers kept (oldest out): two are enough to tell a shared loss from a lone one. */
export const ASKERS_KEPT = 8;

/**
 * Who lately asked this agent with `lost=` of its current life, and whether an ask is to be refuted by multicast:
 * when a second asker claims the loss within ASKERS_WINDOW_PERIODS, at most once in ASKED_REFUTE_PERIODS. While this
 * agent's own loop has lagged lately (`late`: its answers came late, so many viewers' probes of it may have timed
 * out), any ask is, at most once a period (announcer.refute): at 200 agents (rechecker-partition seed 32) a busy
 * agent's first lone askers drew no refutation, and a viewer whose probe timed out after the late one held it lost
 * to 34.5 s, 14.5 s after the load, against 20 s when every ask was refuted.
 */
export class LostAskers {
  private readonly askedAt = new Map<string, number>();
  private refutedAt = -Infinity;

  constructor(private readonly periodMs: number) {}

  /** `name` asked at `now`: true when this agent should multicast its refutation now. */
  asked(name: string, now: number, late: boolean): boolean {
    const window = ASKERS_WINDOW_PERIODS * this.periodMs;
    for (const [asker, at] of this.askedAt) if (now - at >= window) this.askedAt.delete(asker);
    this.askedAt.delete(name);
    this.askedAt.set(name, now);
    for (const asker of this.askedAt.keys()) if (this.askedAt.size > ASKERS_KEPT) this.askedAt.delete(asker);
    const shared = late || this.askedAt.size >= 2;
    if (!shared || (!late && now - this.refutedAt < ASKED_REFUTE_PERIODS * this.periodMs)) return false;
    this.refutedAt = now;
    return true;
  }
}
