import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RECHECK_PERIODS, RECHECKERS, RECHECKS_PER_PERIOD } from '../../src/sync/lost-rechecks.js';
import { ScaleSite } from '../swarm/scale-site.js';

/** 60; HERALD_RECHECK_SITE=200 measures the 200-agent site (docs/benchmarks.md, *Recheck bursts*). */
const SITE = Number(process.env.HERALD_RECHECK_SITE ?? 60);

/**
 * attack19, lost16's rechecks: a vanished host (nothing answers, requests hang) on an open site is lost by its
 * monitors on timeouts, then by every other viewer on its notice's confirming probe, also on timeouts: each of them
 * asks it again RECHECK_PERIODS.length times. Held: at most that many rechecks a viewer, every probe of the vanished
 * host counted, none revives it, and the site's requests to it stay within a few per viewer. Measured (19:33 UTC):
 * 60 agents, lost by all 5.7 s after it vanished, 118 rechecks by 59 of 59 viewers, 185 requests to it in 30 s (at
 * most 59 in one second); the same at 200 agents: 398 rechecks, 599 requests, 199 in one second. Every viewer loses
 * it within the same second (the notice), so their rechecks come together: a burst of one request a viewer, twice.
 */
test('open site: a vanished host is rechecked at most twice a viewer, and stays lost', async () => {
  const site = new ScaleSite(1902, 'default', 2);
  try {
    await site.startSettled(SITE);
    const victim = 'agent-17';
    const at = site.addressOf(victim);
    const askedAt: number[] = [];
    site.sim.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.to.startsWith(`${at}:`)) askedAt.push(site.now());
    };
    site.live.delete(victim);
    const vanishedAt = site.now();
    for (const other of site.names) {
      if (other === victim) continue;
      site.sim.network.cut(at, site.addressOf(other), true);
      site.sim.network.cut(site.addressOf(other), at, true);
    }
    const watch = site.watchLoss(victim);
    await site.until(watch, 10_000, 50);
    const lostMs = Math.max(...watch.times.values());
    await site.sim.clock.advance(30_000);
    const viewers = site.others(victim);
    const rechecks = viewers.map((v) => site.agent(v).agent.metrics.livenessChecks.get({ rule: 'recheck' }));
    const total = rechecks.reduce((a, b) => a + b, 0);
    const asked = askedAt.length;
    // The most requests to the vanished host in any one second (each a neighbour lookup of an absent address).
    const peak = Math.max(0, ...askedAt.map((t) => askedAt.filter((u) => u >= t && u < t + 1000).length));
    // A request is seen as it ends (here: its timeout). The notice's confirming probes ended with the last loss; a
    // recheck is sent 2 periods or more after the loss and ends a period later: past a second on, the rechecks alone.
    const after = askedAt.filter((t) => t >= vanishedAt + lostMs + 1000);
    const recheckPeak = Math.max(0, ...after.map((t) => after.filter((u) => u >= t && u < t + 1000).length));
    const perSecond = new Map<number, number>();
    for (const t of askedAt) {
      const second = Math.floor((t - vanishedAt) / 1000);
      perSecond.set(second, 1 + (perSecond.get(second) ?? 0));
    }
    console.log(`  requests a second since it vanished: ${[...perSecond].map(([s, n]) => `${s}s:${n}`).join(' ')}`);
    const alive = viewers.filter((v) => site.agent(v).agent.directory.held(victim)?.state === 'alive');
    console.log(
      `  lost by all ${Math.round(lostMs)} ms after it vanished; 30 s on: ${total} rechecks by ${rechecks.filter((n) => n > 0).length}` +
        ` of ${viewers.length} viewers (max ${Math.max(...rechecks)}), ${asked} requests to the vanished host (at most ${peak} in a second;` +
        ` ${recheckPeak} once all had lost it)`,
    );
    assert.is(watch.missing, 0, 'lost by every viewer');
    assert.equal(alive, [], 'no viewer revived it');
    assert.ok(Math.max(...rechecks) <= RECHECK_PERIODS.length, 'at most two rechecks a viewer');
    assert.ok(asked <= 4 * viewers.length, `${asked} requests to the vanished host`);
    // burst17: a few viewers recheck it at once, the rest once each, spread (RECHECKS_PER_PERIOD a period).
    assert.ok(total <= viewers.length + RECHECKERS, `${total} rechecks: one a viewer, two by the first few`);
    const bound = 2 * RECHECKERS + 2 * RECHECKS_PER_PERIOD;
    assert.ok(recheckPeak <= bound, `${recheckPeak} requests in one second once all had lost it (bound ${bound})`);
  } finally {
    await site.stopAll();
  }
});

test.run();
