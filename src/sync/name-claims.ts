import type { Directory } from '../directory/directory.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

interface Claim {
  endpoint: string;
  /** First and last heard: two claims are live at once only if each was heard after the other began. */
  first: number;
  at: number;
}

/**
 * Who claims which agent name. Two incarnations heard from two endpoints within the window are two
 * live agents with one name: logged once on each change of the situation, and shown in /v1/agents.
 * An agent that hears its own name with another incarnation says so too.
 */
export class NameClaims {
  private readonly peers = new Map<string, { claims: Map<number, Claim>; conflict: boolean }>();
  private readonly selfClaims = new Map<number, Claim>();

  constructor(
    private readonly c: { directory: Directory; clock: Clock; logger: Logger },
    private readonly self: { name: string; incarnation: number },
    private readonly windows: { peerMs: number; selfMs: number },
  ) {}

  /** A datagram from another agent of this name. Called for every datagram: the usual case is cheap. */
  heard(name: string, incarnation: number, endpoint: string, now = this.c.clock.monotonic()): void {
    let entry = this.peers.get(name);
    if (!entry) {
      entry = { claims: new Map(), conflict: false };
      this.peers.set(name, entry);
    }
    const known = entry.claims.get(incarnation);
    if (known && entry.claims.size === 1 && known.endpoint === endpoint) {
      known.at = now; // the one claim, heard again: nothing to prune or report
      return;
    }
    if (known) {
      known.at = now;
      known.endpoint = endpoint;
    } else entry.claims.set(incarnation, { endpoint, first: now, at: now });
    prune(entry.claims, now, this.windows.peerMs);
    // An agent that moved (a restart on another port, a new address) hands over: its old incarnation
    // falls silent before the new one speaks. Two agents that share a name go on speaking together.
    const claims = [...entry.claims.values()];
    const conflict = claims.some((x) =>
      claims.some((y) => x !== y && x.endpoint !== y.endpoint && x.at > y.first && y.at > x.first),
    );
    if (conflict && !entry.conflict) {
      this.c.logger.error(
        { agent: name, claims: Object.fromEntries([...entry.claims].map(([i, c]) => [i, c.endpoint])) },
        'two live agents claim one name',
      );
    }
    if (!conflict && entry.conflict) this.c.logger.info({ agent: name }, 'name conflict over');
    entry.conflict = conflict;
    this.publish(name, conflict ? entry.claims : undefined);
  }

  /** A datagram with this agent's own name and another incarnation. */
  heardOwnName(incarnation: number, endpoint: string): void {
    const now = this.c.clock.monotonic();
    if (!this.selfClaims.has(incarnation)) {
      this.c.logger.error(
        { agent: this.self.name, otherIncarnation: incarnation, other: endpoint },
        "another agent claims this agent's name; give each agent a unique --name",
      );
    }
    this.selfClaims.set(incarnation, { endpoint, first: this.selfClaims.get(incarnation)?.first ?? now, at: now });
    this.publish(
      this.self.name,
      new Map([...this.selfClaims, [this.self.incarnation, { endpoint: 'this agent', first: now, at: now }]]),
    );
  }

  /** Periodic: a claim on this agent's own name that has gone quiet ends the conflict. */
  sweep(): void {
    if (this.selfClaims.size === 0) return;
    prune(this.selfClaims, this.c.clock.monotonic(), this.windows.selfMs);
    if (this.selfClaims.size === 0) this.c.directory.setConflict(this.self.name, undefined);
  }

  forget(name: string): void {
    this.peers.delete(name);
  }

  private publish(name: string, claims: Map<number, Claim> | undefined): void {
    if (!claims) return this.c.directory.setConflict(name, undefined);
    const now = this.c.clock.monotonic();
    const wall = this.c.clock.now();
    this.c.directory.setConflict(name, {
      claims: [...claims]
        .sort((a, b) => b[0] - a[0])
        .map(([incarnation, c]) => ({
          incarnation,
          address: c.endpoint,
          lastSeen: new Date(wall - (now - c.at)).toISOString(),
        })),
    });
  }
}

function prune(claims: Map<number, Claim>, now: number, windowMs: number): void {
  for (const [incarnation, claim] of claims) if (now - claim.at > windowMs) claims.delete(incarnation);
}
