import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing, type KeyRing } from '../src/security/cluster-key.js';
import { isBeat } from '../src/protocol/beat.js';
import { percentile } from './swarm/scale.js';
import { ScaleSite } from './swarm/scale-site.js';

/**
 * A keyed site's monitors hear beats (13 bytes of message and the 17-byte trailer) instead of whole
 * heartbeats (37 bytes and the trailer with the bench's names): at 1,000 agents each agent receives two a
 * second, a third of its idle traffic. 100 agents with the multicast budget of 1,000 or less (36 B/s on
 * the wire: one heartbeat in about 3 minutes each), so liveness and hints ride the ring's unicast rounds.
 */
async function rareKeyedSite(seed: number): Promise<ScaleSite> {
  return rareSite(seed, parseKeyRing(generateKey()));
}

async function rareSite(seed: number, keys?: KeyRing): Promise<ScaleSite> {
  const site = new ScaleSite(seed, 'default', 2, { heartbeatBudget: 36 }, keys);
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

/**
 * idle19: an open site's rounds are beats too (13 bytes instead of a whole heartbeat's 26-27 with these names).
 * Before, at 200 agents the whole heartbeats were 43 % of an idle agent's 253 B/s received on the wire.
 */
test('open, idle: unicast rounds are 13-byte beats, taken as heartbeats (no probe of a live subject)', async () => {
  const site = await rareSite(5);
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
    console.log(
      `  20 s idle, 100 agents, open: ${datagrams} unicast datagrams of ${mean.toFixed(1)} B, ${probes} probes`,
    );
    assert.ok(datagrams > 100 * 2 * 15, `${datagrams} unicast datagrams: every agent beats to its 2 monitors`);
    assert.ok(mean <= 14, `${mean.toFixed(1)} bytes a unicast datagram (a beat: 13-14)`);
    assert.ok(after.beats - before.beats >= datagrams * 0.95, 'received as beats');
    assert.ok(probes <= 5, `${probes} probes of live subjects in an idle 20 s: beats count as heard`);
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test("open, 30 % loss: every change reaches every agent, hinted by the beats' ring hints", async () => {
  const site = await rareSite(2);
  try {
    site.sim.network.loss = 0.3;
    const { times, undelivered } = await site.changes(20, 10_000);
    console.log(
      `  open, 20 changes to 99 agents at 30 % loss: p99 ${percentile(times, 99)} ms, ${undelivered} undelivered`,
    );
    assert.is(undelivered, 0, 'deliveries that never arrived within 10 s');
    assert.ok(sum(site, (m) => m.gapsDetected.get({ signal: 'hint' })) > 0, 'some gaps were found by hints');
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

/**
 * A rolling upgrade of an open site: a monitor of an older release refuses beats (type 6) as undecodable, so it
 * hears nothing of its subjects but their rare multicast and probes them every 2.5-3.5 periods. Here 10 agents of
 * 100 drop every beat they are sent, as such a monitor does. After its second probe a subject sends it whole
 * heartbeats (beat-fallback.ts): it probes about twice a minute, not 20 times.
 */
test('open: a monitor that cannot read beats (an older release) hears whole heartbeats after 2 probes', async () => {
  const site = await rareSite(7);
  try {
    const older = new Set([...site.live].slice(0, 10).map((name) => site.addressOf(name)));
    const net = site.sim.network as unknown as { unicast: (from: string, to: string, data: Uint8Array) => void };
    const unicast = net.unicast.bind(net);
    net.unicast = (from, to, data) => (older.has(to) && isBeat(data) ? undefined : unicast(from, to, data));
    const probes = () =>
      [...site.live]
        .filter((name) => older.has(site.addressOf(name)))
        .reduce((n, name) => n + site.agent(name).agent.metrics.livenessProbes.get({ result: 'alive' }), 0);
    await site.sim.clock.advance(10_000); // the fallback starts: 2 probes of each subject
    const before = probes();
    await site.sim.clock.advance(30_000);
    const made = probes() - before;
    console.log(`  30 s, 10 monitors deaf to beats: ${made} probes of their 20 live subjects`);
    assert.ok(made <= 20, `${made} probes by the 10 older monitors in 30 s (20 subjects, every 3 s: ~200)`);
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test.run();
