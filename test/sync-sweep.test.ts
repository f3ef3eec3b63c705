import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleSite } from './swarm/scale-site.js';

/** Agents started 10 ms apart, then left until the last holds every other, then 3 s more. */
async function settledSite(size: number, seed: number): Promise<ScaleSite> {
  const site = new ScaleSite(seed, 'default', 1);
  for (let i = 0; i < size; i++) {
    await site.start(`agent-${i}`, i + 1);
    await site.sim.clock.advance(10);
  }
  const last = `agent-${size - 1}`;
  const start = site.now();
  for (let from = 0; from < site.names.length; await site.sim.clock.advance(10)) {
    if (site.now() - start > 10_000) throw new Error(`${last} incomplete after 10 s`);
    from = site.holdsAll(last, from);
  }
  await site.sim.clock.advance(3_000);
  return site;
}

/** Peers one agent's liveness sweep looked at over `ms` of idle, and the sweep's ticks meanwhile (two a second). */
async function idleVisits(site: ScaleSite, name: string, ms: number): Promise<{ visits: number; ticks: number }> {
  const metrics = site.agent(name).agent.metrics;
  const before = metrics.livenessSweepVisits.get();
  await site.sim.clock.advance(ms);
  return { visits: metrics.livenessSweepVisits.get() - before, ticks: ms / 500 };
}

/**
 * A profile of one agent among 1,000 put 23 % of its idle CPU in the liveness sweep: every tick (two a
 * second) looked at every peer. Only peers whose silence may matter are looked at now (their deadline
 * passed, or something moved it), plus every peer every 30 s as a safety net: a tick's work
 * no longer grows with the site. Counted in visits (the agent's own metric), not in time.
 */
test("an idle agent's liveness sweep looks at a few peers a tick, whatever the site's size", async () => {
  const window = 30_000; // the safety net walks every peer each 30 s (FULL_WALK_MS): one walk in the window
  const perTick: number[] = [];
  for (const size of [40, 160]) {
    const site = await settledSite(size, 1800 + size);
    try {
      const name = `agent-${Math.floor(size / 2)}`;
      const { visits, ticks } = await idleVisits(site, name, window);
      const walk = size - 1; // one safety-net walk in the window
      const rest = Math.max(0, visits - walk);
      perTick.push(rest / ticks);
      const everyTick = ticks * walk;
      console.log(`  ${size} agents: ${visits} visits in ${ticks} ticks (walking all at each tick: ${everyTick})`);
      assert.ok(visits <= walk + 8 * ticks, `${visits} visits in ${ticks} ticks at ${size} agents`);
      assert.is(site.falseLosses, 0);
    } finally {
      await site.stopAll();
    }
  }
  // Four times the site, about the same work a tick besides the safety net's walk.
  assert.ok(perTick[1] <= perTick[0] * 1.5 + 1, `visits a tick besides the walk: ${perTick.join(' at 40, ')} at 160`);
});

test.run();
