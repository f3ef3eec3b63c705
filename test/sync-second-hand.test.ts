import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleSite } from './swarm/scale-site.js';

/** Agents started 10 ms apart, then left until each holds every other at its version. */
async function settledSite(size: number, seed: number): Promise<ScaleSite> {
  const site = new ScaleSite(seed, 'default', 2);
  for (let i = 0; i < size; i++) {
    await site.start(`agent-${i}`, i + 1);
    await site.sim.clock.advance(10);
  }
  await untilComplete(site, `agent-${size - 1}`);
  await site.sim.clock.advance(3_000);
  return site;
}

async function untilComplete(site: ScaleSite, name: string): Promise<number> {
  const start = site.now();
  for (let from = 0; site.now() - start < 10_000; await site.sim.clock.advance(10)) {
    from = site.holdsAll(name, from);
    if (from >= site.names.length) return site.now() - start;
  }
  throw new Error(`${name} incomplete after 10 s`);
}

/**
 * The 1,000-agent simulator's idle window showed one agent sending 52.6 kB/s: late starters had adopted it
 * from a summary, never heard its (stretched) heartbeat, so judged it by the one-second period and probed
 * it every 2.5 s, each 16th probe asking for its whole summary. An agent learnt second-hand on a stretched
 * site is judged by the site's interval until its own datagram says what its interval is.
 */
test('a newcomer does not probe the agents it adopted from a summary while they keep their heartbeat interval', async () => {
  const site = await settledSite(100, 18);
  try {
    const name = `agent-${site.names.length}`;
    await site.start(name, site.names.length + 1);
    const joinMs = await untilComplete(site, name);
    assert.ok(joinMs <= 2_000, `the newcomer is complete in ${joinMs} ms (adoption still works)`);
    site.meter.reset();
    await site.sim.clock.advance(20_000);
    const own = site.meter.of(site.addressOf(name));
    const served = [...site.meter.byAddress.values()];
    const probes = served.reduce((t, c) => t + c.served.probe.count + c.served.summary.count, 0);
    const summaries = served.reduce((t, c) => t + c.served.summary.count, 0);
    console.log(`  newcomer: ${own.requestsMade} requests, site: ${probes} probes answered in 20 s of idle`);
    // Its 2 subjects' unicast heartbeats reach it once they see it on their ring; a ring move costs a probe or two.
    assert.ok(own.requestsMade <= 6, `the newcomer made ${own.requestsMade} requests in 20 s of idle`);
    assert.ok(probes <= 10, `${probes} probes answered site-wide in 20 s of idle`);
    assert.is(summaries, 0, 'no summary asked at idle');
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test.run();
