import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { idleIntervalSeconds } from './swarm/scale.js';
import { ScaleSite } from './swarm/scale-site.js';
import { budgetStretchedLike } from './swarm/stretched-site.js';

const AGENTS = 40;

/**
 * After a site starts all together, its multicast keeps flowing: the heartbeats that carry hints and view digests
 * (how a host learns a change or an agent it missed) are spread over the interval, not bunched. Every agent's last
 * multicast of a cold start answered one of the last starters' solicits, and the wait drawn from there (0.5-1.5
 * intervals, RTCP's) silenced the whole site for half an interval: at 40 agents stretched like 200, nothing for
 * 43-65 s after the settle, and a newcomer that missed an origin at the settle waited for it up to 58 s (liar22).
 * Each seed: the longest stretch without a multicast heartbeat on the site, over the 1.5 intervals after it settled.
 */
async function longestSilenceMs(seed: number): Promise<{ silence: number; intervalMs: number }> {
  const site = new ScaleSite(seed, 'default', 2, { heartbeatBudget: budgetStretchedLike(AGENTS, 200) });
  const sends: number[] = [];
  let last = -1;
  site.sim.network.dropAtSend = (from, _to, kind) => {
    const now = site.now();
    if (kind === 'multicast' && now !== last) sends.push((last = now));
    return false;
  };
  try {
    await site.startSettled(AGENTS);
    const settled = site.now();
    const intervalMs = idleIntervalSeconds(200, 'default') * 1000;
    while (site.now() - settled < 1.5 * intervalMs) await site.sim.clock.advance(500);
    const after = [settled, ...sends.filter((t) => t > settled), site.now()];
    let silence = 0;
    for (let i = 1; i < after.length; i++) silence = Math.max(silence, after[i] - after[i - 1]);
    return { silence, intervalMs };
  } finally {
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
}

test('after a cold start the site multicasts throughout the interval, not after half of it', async () => {
  for (const seed of [2203, 2204, 2205]) {
    const { silence, intervalMs } = await longestSilenceMs(seed);
    console.log(`  seed ${seed}: longest multicast silence ${silence} ms (interval ${Math.round(intervalMs)} ms)`);
    assert.ok(silence <= 0.3 * intervalMs, `seed ${seed}: ${silence} ms without a multicast`);
  }
});

test.run();
