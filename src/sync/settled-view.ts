import type { AgentInfo } from '../directory/records.js';
import type { SyncContext } from './sync-context.js';
import { viewDigest } from './view-digest.js';

/**
 * Liveness periods an agent's life must have held as it is (alive in one incarnation, or out) in this agent's view
 * before it counts in the view its heartbeats name: as long as this agent's own view must stay unchanged before
 * the site's votes count (view-votes.ts STEADY_PERIODS), so a flap shorter than that moves neither.
 */
export const SETTLE_PERIODS = 5;

/**
 * An agent whose liveness moves again before twice its settle time has passed is flapping: its settle time doubles,
 * up to this many times SETTLE_PERIODS, and is back to SETTLE_PERIODS after a move that comes later. Two links
 * flapping half a cycle apart (down 3 s, up 6 s) each settled back in after 5 periods, so between them every view
 * on the site moved each 3-4 s and the votes' steady rule never held: 33-36 s to learn a missed agent again
 * (test/attacks/votes-flappers-phased.test.ts), as one flapper cost before the settled view.
 */
const FLAPPING_SETTLE_FACTOR = 8;

/** An agent's liveness as the digest reads it: alive in which life, or not alive. */
function lifeOf(agent: AgentInfo): number {
  return agent.state === 'alive' ? agent.incarnation : -1;
}

/**
 * The settled view: who this agent holds alive, in which life, leaving out those whose liveness moved in its view
 * within SETTLE_PERIODS; its digest (view-digest.ts, the same 32 bits when nothing is in flux) is what a stretched
 * site's multicast heartbeats name (view-votes.ts). One agent whose link flaps elsewhere on the site (down 5 s, up
 * 2 s: lost and refuted each few seconds) moved every view on the site each time, this agent's too, so the votes'
 * steady rule seldom held and a host that missed a new agent learnt it in 35 s, not 0.5
 * (test/attacks/votes-flapper.test.ts). Left out while its life moves, the flapper moves no settled view: only
 * when its life holds SETTLE_PERIODS does it count, and a loss leaves it out at once. A view's real differences
 * stay: an agent this one holds alive that the site lost (a missed crash) counts here and nowhere else at once; one
 * it never learnt (a missed new agent) counts everywhere else once it has held there SETTLE_PERIODS.
 */
export class SettledView {
  /** Each agent's life as last read, and since when it has held. */
  private readonly lives = new Map<string, { life: number; since: number; settle: number }>();
  private epoch = -1;
  /** When the next agent now in flux settles: the settled view moves then without a state change. */
  private due = Infinity;
  private view = 0;
  private viewLost = 0;
  /** Agents this one holds alive that its settled view leaves out: their liveness moved lately. */
  private flux: string[] = [];

  constructor(private readonly s: SyncContext) {}

  /** The settled view's digest, and that of the same without this agent (the view of peers holding it lost). */
  digests(): { view: number; lost: number } {
    const now = this.s.c.clock.monotonic();
    const epoch = this.s.c.directory.stateChanges.epoch;
    if (epoch !== this.epoch || now >= this.due) this.read(now, epoch !== this.epoch);
    this.epoch = epoch;
    return { view: this.view, lost: this.viewLost };
  }

  /** Who this agent holds alive while its settled view leaves them out (a voter agreeing says nothing of them). */
  aliveInFlux(): readonly string[] {
    this.digests();
    return this.flux;
  }

  /** Whether the agent's liveness moved in this view within SETTLE_PERIODS (a loss, its revival, a restart). */
  movedLately(name: string): boolean {
    this.digests();
    const held = this.lives.get(name);
    return !!held && held.since + held.settle > this.s.c.clock.monotonic();
  }

  private read(now: number, moved: boolean): void {
    const agents = this.s.c.directory.agents().filter((a) => !a.remote);
    const base = SETTLE_PERIODS * this.s.cfg.livenessPeriodMs;
    if (moved) {
      const names = new Set<string>();
      for (const agent of agents) {
        names.add(agent.name);
        const held = this.lives.get(agent.name);
        const life = lifeOf(agent);
        // An agent first heard of counts at once: news, not flux (a new agent's join, a restart's whole directory);
        // so does the first life of a name held before its life was known (incarnation 0, as ensureOrigin adds it).
        if (!held) this.lives.set(agent.name, { life, since: -Infinity, settle: base });
        else if (held.life !== life) {
          const flapping = now - held.since < 2 * held.settle;
          held.settle = flapping ? Math.min(2 * held.settle, FLAPPING_SETTLE_FACTOR * base) : base;
          [held.life, held.since] = [life, held.life === 0 ? -Infinity : now];
        }
      }
      for (const name of this.lives.keys()) if (!names.has(name)) this.lives.delete(name);
    }
    [this.due, this.flux] = [Infinity, []];
    const settled = agents.filter((a) => {
      const held = this.lives.get(a.name);
      const settledAt = held ? held.since + held.settle : now + base;
      if (settledAt <= now) return true;
      if (a.state === 'alive') {
        this.due = Math.min(this.due, settledAt);
        this.flux.push(a.name);
      }
      return false;
    });
    const directory = { agents: () => settled };
    [this.view, this.viewLost] = [viewDigest(directory), viewDigest(directory, this.s.cfg.name)];
  }
}
