import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../src/security/cluster-key.js';
import { percentile } from './swarm/scale.js';
import { ScaleSite } from './swarm/scale-site.js';

/**
 * A keyed site's monitors hear beats (13 bytes of message and the 17-byte trailer) instead of whole
 * heartbeats (37 bytes and the trailer with the bench's names): at 1,000 agents each agent receives two a
 * second, a third of its idle traffic. 100 agents with the multicast budget of 1,000 or less (36 B/s on
 * the wire: one heartbeat in about 3 minutes each), so liveness and hints ride the ring's unicast rounds.
 */
async function rareKeyedSite(seed: number): Promise<ScaleSite> {
  const site = new ScaleSite(seed, 'default', 2, { heartbeatBudget: 36 }, parseKeyRing(generateKey()));
  for (let i = 0; i < 100; i++) {
    await site.start(`agent-${i}`, i + 1);
    await site.sim.clock.advance(10);
  }
  await site.sim.clock.advance(20_000);
  return site;
}

function sum(site: ScaleSite, read: (m: ReturnType<ScaleSite['agent']>['agent']['metrics']) => number): number {
  return [...site.live].reduce((n, name) => n + read(site.agent(name).agent.metrics), 0);
}

test('keyed, idle: unicast rounds are 31-byte beats, taken as heartbeats (no probe of a live subject)', async () => {
  const site = await rareKeyedSite(3);
  try {
    const unicast = () => ({
      datagrams: sum(site, (m) => m.datagramsSent.get({ kind: 'unicast' })),
      bytes: sum(site, (m) => m.datagramBytesSent.get({ kind: 'unicast' })),
      beats: sum(site, (m) => m.announcementsReceived.get({ type: 'beat' })),
      probes: sum(site, (m) => m.livenessProbes.get({ result: 'alive' }) + m.livenessProbes.get({ result: 'lagged' })),
    });
    const before = unicast();
    await site.sim.clock.advance(20_000);
    const after = unicast();
    const datagrams = after.datagrams - before.datagrams;
    const mean = (after.bytes - before.bytes) / datagrams;
    const probes = after.probes - before.probes;
    console.log(`  20 s idle, 100 agents: ${datagrams} unicast datagrams of ${mean.toFixed(1)} B, ${probes} probes`);
    assert.ok(datagrams > 100 * 2 * 15, `${datagrams} unicast datagrams: every agent beats to its 2 monitors`);
    assert.ok(mean <= 31, `${mean.toFixed(1)} bytes a unicast datagram (a beat: 13-14 of message, 17 of trailer)`);
    assert.ok(after.beats - before.beats >= datagrams * 0.95, 'received as beats');
    assert.ok(probes <= 5, `${probes} probes of live subjects in an idle 20 s: beats count as heard`);
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test("keyed, 30 % loss: every change reaches every agent, hinted by the beats' ring hints", async () => {
  const site = await rareKeyedSite(1);
  try {
    site.sim.network.loss = 0.3;
    const { times, undelivered } = await site.changes(20, 10_000);
    const hinted = sum(site, (m) => m.gapsDetected.get({ signal: 'hint' }));
    console.log(`  20 changes to 99 agents at 30 % loss: p99 ${percentile(times, 99)} ms, ${undelivered} undelivered`);
    assert.is(undelivered, 0, 'deliveries that never arrived within 10 s');
    assert.ok(hinted > 0, 'some gaps were found by hints');
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test.run();
