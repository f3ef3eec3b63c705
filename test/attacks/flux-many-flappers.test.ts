import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * flap22's flux checks (flux-checks.ts) under many flappers: every host whose voter agrees checks first-hand each
 * agent it holds alive in flux that missed a heartbeat, once a settle time. With a sixth of a site of 60 flapping
 * (links down DOWN ms, up UP ms, for 40 s), do the checks become a probe storm, and is any flapper still held lost
 * once its link stays up? Measured: flux checks site-wide, and all checks, against the same site without flappers.
 * Held (seed 2241, flappers 700 ms out of step): down 3 s up 6 s, 26 flux checks beside 142 monitor ones; down
 * 1.5 s up 2.5 s, 59 beside 165 monitor and 139 backstop ones; every view holds every flapper alive after 15 s.
 */
const N = 60;
const FLAPPERS = 10;

async function run(seed: number, down: number, up: number) {
  const site = new ScaleSite(seed, 'default', 2);
  try {
    await site.startSettled(N);
    const flappers = site.names.filter((_, i) => i % (N / FLAPPERS) === 3);
    const rules = ['monitor', 'backstop', 'noticed', 'period', 'flux'] as const;
    const count = (rule: string) =>
      site.names.reduce((n, name) => n + site.agent(name).agent.metrics.livenessChecks.get({ rule }), 0);
    const before = rules.map(count);
    const t0 = site.now();
    while (site.now() - t0 < 40_000) {
      // Out of step: each flapper's cycle starts 700 ms after the one before.
      const off = (i: number) => down > 0 && (site.now() - t0 + i * 700) % (down + up) < down;
      for (const [i, f] of flappers.entries()) site.sim.network.setDown(site.addressOf(f), off(i));
      await site.sim.clock.advance(250);
    }
    for (const f of flappers) site.sim.network.setDown(site.addressOf(f), false);
    await site.sim.clock.advance(15_000);
    const checks = Object.fromEntries(rules.map((r, i) => [r, count(r) - before[i]]));
    const lost = site.names
      .flatMap((viewer) => flappers.map((f) => site.agent(viewer).agent.directory.held(f)?.state))
      .filter((state) => state !== 'alive').length;
    return { checks, lost };
  } finally {
    await site.stopAll();
  }
}

test(`${FLAPPERS} flappers of ${N}: flux checks bounded, none held lost 15 s after their links stay up`, async () => {
  const quiet = await run(2241, 0, 1);
  console.log(`  no flappers: checks ${JSON.stringify(quiet.checks)}`);
  for (const [down, up] of [
    [3_000, 6_000],
    [1_500, 2_500],
  ]) {
    const r = await run(2241, down, up);
    console.log(`  down ${down} up ${up}: checks ${JSON.stringify(r.checks)}; flapper views not alive: ${r.lost}`);
    // Once a settle time (5 periods) a host at most, per flapper: 60 x 10 x 40 s / 5 s = 4,800; a storm is near it.
    assert.ok(r.checks.flux <= N * FLAPPERS, `${r.checks.flux} flux checks`);
    assert.equal(r.lost, 0, 'every view holds every flapper alive again');
  }
});

test.run();
