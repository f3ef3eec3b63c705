import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckRule } from '../src/sync/sweep.js';
import { ScaleSite } from './swarm/scale-site.js';

/** Agents agent-`from` to agent-(`to` - 1), started 10 ms apart. */
async function startAgents(site: ScaleSite, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    await site.start(`agent-${i}`, i + 1);
    await site.sim.clock.advance(10);
  }
}

/** Checks the given agents started by the rule, so far (herald_liveness_checks_total). */
function checks(site: ScaleSite, names: string[], rule: CheckRule): number {
  return names.reduce((t, n) => t + site.agent(n).agent.metrics.livenessChecks.get({ rule }), 0);
}

/**
 * At 100 agents on real sockets (cold12) 616 of 2,223 checks in a cold start were of agents whose last
 * heartbeat announced an interval under 5 s: the site had grown since, so their next heartbeat was
 * postponed to the larger site's interval (RTCP's forward reconsideration), while the others judged their
 * silence by the shorter one (a non-monitor probes after 5 of them). Here 40 agents settle (interval
 * ~1.8 s), then 80 more start within a second, whose catch-ups by the 40 fail for 4.6 s: the 40 heartbeat
 * at 1.8 s meanwhile, then count 120 within a few seconds, and their next heartbeat moves ~13 s away. A viewer
 * judges a silence by the longer of the announced interval and its own for the site now (RFC 3550 §6.3.5),
 * so none probes a live agent for it; a crash is still its monitors' to find (crash p99 in the swarm).
 */
test('an agent whose interval stretched as the site grew is not probed by non-monitors before its new interval', async () => {
  const site = new ScaleSite(1301, 'default', 2);
  try {
    await startAgents(site, 0, 40);
    await site.sim.clock.advance(10_000);
    const old = site.names.slice();
    // Their catch-ups of the newcomers time out for 4.6 s (a busy host): their counts, then intervals, jump after.
    const [oldAddresses, busyUntil] = [new Set(old.map((n) => site.addressOf(n))), site.now() + 4_600];
    site.sim.network.rpcFaults = (from, _to, route) =>
      oldAddresses.has(from) && route === 'changes' && site.now() < busyUntil ? { kind: 'hang' } : undefined;
    const before = checks(site, old, 'backstop') + checks(site, old, 'period');
    await startAgents(site, 40, 120);
    await site.sim.clock.advance(30_000);
    const after = checks(site, old, 'backstop') + checks(site, old, 'period') - before;
    console.log(`  non-monitor checks by the first 40 agents in the 30 s after the site grew to 120: ${after}`);
    assert.ok(after <= 2, `${after} non-monitor checks of live agents by the first 40`);
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

/**
 * The other 856 of those checks were of agents whose last datagram announced no interval: a newcomer counts
 * itself unscaled until it has verified its peers (its catch-ups of them, slow on a loaded host), multicasts
 * each second meanwhile, then, verified, postpones its next heartbeat to the site's interval. Judged by the
 * one-second period, its silence drew a probe from every agent 2.5 s later. Here a newcomer's catch-ups
 * time out for 3 s: the site judges its silence by the site's interval, as for an agent learnt second-hand.
 */
test("a newcomer whose datagrams carried no interval is judged by the site's interval, not probed by every agent", async () => {
  const site = new ScaleSite(1302, 'default', 2);
  try {
    await site.startSettled(100);
    const name = `agent-${site.names.length}`;
    const newcomer = `10.0.0.${site.names.length + 1}`;
    const busyUntil = site.now() + 3_000;
    site.sim.network.rpcFaults = (from, _to, route) =>
      from === newcomer && route === 'changes' && site.now() < busyUntil ? { kind: 'hang' } : undefined;
    const old = site.names.slice();
    const before = checks(site, old, 'period') + checks(site, old, 'backstop');
    await site.start(name, site.names.length + 1);
    await site.sim.clock.advance(20_000);
    const after = checks(site, old, 'period') + checks(site, old, 'backstop') - before;
    const served = site.meter.of(newcomer).served.probe.count + site.meter.of(newcomer).served.summary.count;
    console.log(
      `  non-monitor checks by the 100 in the newcomer's first 20 s: ${after}; probes it answered: ${served}`,
    );
    assert.ok(after <= 5, `${after} non-monitor checks in the newcomer's first 20 s`);
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test.run();
