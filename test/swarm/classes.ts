import type { Violation } from './invariants.js';
import type { Scenario } from './scenario.js';

/**
 * A first guess at which known class of divergence a violation belongs to (issue 12's four, numbered
 * as there, and the fifth the swarm found), from the invariant and the site; `other:<kind>` for
 * anything else. A guess for triage and
 * counting only: the trace of a seed says what really happened.
 */
export function classify(v: Violation, scenario: Scenario, all: readonly Violation[] = []): string {
  const plan = (name: string | undefined) => scenario.agents.find((a) => a.name === name);
  switch (v.kind) {
    case 'wrong-devices':
      return 'class-1 old life leaks into new';
    case 'left-while-running':
      return 'class-2 old goodbye marks new life left';
    case 'lost-while-running':
    case 'liveness':
      return plan(v.viewer)?.mode === 'mdns' || plan(v.origin)?.mode === 'mdns'
        ? 'class-3 mDNS peer lost for good'
        : `other:${v.kind}`;
    case 'stale': {
      if (plan(v.origin)?.devices === 'huge') return 'class-4 set too large to catch up';
      // A lost mDNS peer is never probed again, so its next version is never learnt either.
      const lost = all.some((o) => o.kind === 'lost-while-running' && o.viewer === v.viewer && o.origin === v.origin);
      return lost && classify({ ...v, kind: 'lost-while-running' }, scenario).startsWith('class-3')
        ? 'class-3 mDNS peer lost for good'
        : 'other:stale';
    }
    case 'ghost':
      // Named alive in another peer's hello summary after it died: learnt with a fresh liveness clock.
      return /alive with 0 devices/.test(v.detail) ? 'class-5 dead agent revived by a summary' : 'other:ghost';
    default:
      return `other:${v.kind}`;
  }
}
