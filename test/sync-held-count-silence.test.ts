import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckRule } from '../src/sync/sweep.js';
import { ScaleSite } from './swarm/scale-site.js';

/** Checks by every agent by the given rules, so far (herald_liveness_checks_total). */
function checks(site: ScaleSite, rules: CheckRule[]): number {
  let total = 0;
  for (const name of site.names)
    for (const rule of rules) total += site.agent(name).agent.metrics.livenessChecks.get({ rule });
  return total;
}

/**
 * cold13 judged a peer's silence by the longer of its announced interval and the viewer's own, but the
 * viewer's own counted only the members it had verified (its catch-ups of them): in a loaded cold start
 * those land late and unevenly, so a viewer that had verified few (fewer than ~22: unscaled) judged a peer
 * that announced nothing, or a short interval, by the one-second period, and probed live agents that had
 * meanwhile verified the site and stretched their heartbeats (100 agents on real sockets: 1,342 `backstop`
 * and `period` checks of 4,106). Here 100 agents start within 2 s and each one's catch-ups time out until
 * its own moment, spread over 2-14 s (a busy host's): the agents that verified early stretch their
 * intervals while the others still count a handful. A viewer judges by the agents it holds alive, verified
 * or not (the sender's count once its catch-ups land); members, the ring and the sent interval stay
 * verified-only (docs/protocol.md, *Liveness*, "Which interval judges a silence").
 */
test('in a cold start whose catch-ups land late, a viewer judges silences by the agents it holds alive', async () => {
  const site = new ScaleSite(1401, 'default', 2);
  try {
    const busyUntil = new Map<string, number>();
    site.sim.network.rpcFaults = (from, _to, route) =>
      route === 'changes' && site.now() < (busyUntil.get(from) ?? 0) ? { kind: 'hang' } : undefined;
    const start = site.now();
    for (let i = 0; i < 100; i++) {
      const name = `agent-${i}`;
      await site.start(name, i + 1);
      busyUntil.set(site.addressOf(name), start + 2_000 + ((i * 37) % 100) * 120);
      await site.sim.clock.advance(20);
    }
    await site.sim.clock.advance(40_000);
    const nonMonitor = checks(site, ['backstop', 'period']);
    const all = checks(site, ['monitor', 'backstop', 'period', 'noticed']);
    console.log(`  checks of live agents in the cold start: ${all}, by non-monitors (backstop, period): ${nonMonitor}`);
    assert.ok(nonMonitor <= 20, `${nonMonitor} non-monitor checks of live agents in the cold start`);
    assert.is(site.falseLosses, 0);
    assert.ok(
      site.names.every((n) => site.holdsAll(n) === site.names.length),
      'every agent holds the others',
    );
  } finally {
    await site.stopAll();
  }
});

test.run();
