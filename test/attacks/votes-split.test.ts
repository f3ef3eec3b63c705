import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { forgeVote } from './forged-votes.js';

const AGENTS = 40;
const SPLIT = 60;

function count(site: ScaleSite, why: string): number {
  return site.names.reduce((n, x) => n + site.agent(x).agent.metrics.viewExchanges.get({ why }), 0);
}

function summaries(site: ScaleSite): { total: number; most: number } {
  let [total, most] = [0, 0];
  for (const name of site.names) {
    const c = site.meter.of(site.addressOf(name)).served.summary.count;
    [total, most] = [total + c, Math.max(most, c)];
  }
  return { total, most };
}

/**
 * A keyed site: votes count only from datagrams the cluster key authenticates. A forger without the key multicasts
 * heartbeats in two live agents' names from their addresses, naming a view no agent holds: nothing must follow.
 */
test('keyed site: forged votes without the MAC draw no compare and no exchange', async () => {
  const site = new ScaleSite(37, 'default', 2, {}, parseKeyRing(generateKey()));
  try {
    await site.startSettled(AGENTS);
    const [vote, digest] = [count(site, 'vote'), count(site, 'digest')];
    for (let s = 0; s < 60; s++) {
      for (const name of ['agent-3', 'agent-17']) forgeVote(site, name, 0x5eed5eed);
      await site.sim.clock.advance(1000);
    }
    const made = [count(site, 'vote') - vote, count(site, 'digest') - digest];
    console.log(`  keyed: ${made[0]} vote exchanges, ${made[1]} digest compares in a minute of forged votes`);
    assert.equal(made, [0, 0]);
  } finally {
    await site.stopAll();
  }
});

/**
 * A keyed site: a forger without the key may still capture heartbeats, MAC and all, and replay them once the site's
 * view has moved (an agent crashed): they name the view as it was. The replay mark (cluster-sync.ts) refuses them.
 * The same replays on an open site (no mark): 148 digest compares in the minute, 0 exchanges (the neighbours agree).
 */
test('keyed site: captured heartbeats naming an old view, replayed, draw no compare and no exchange', async () => {
  const site = new ScaleSite(39, 'default', 2, {}, parseKeyRing(generateKey()));
  const captured = new Map<string, Buffer>();
  const wrap = site.meter.transport.bind(site.meter);
  site.meter.transport = (address, inner) => {
    const t = wrap(address, inner);
    return { ...t, send: (data) => (captured.set(address, Buffer.from(data)), t.send(data)) };
  };
  try {
    await site.startSettled(AGENTS);
    await site.sim.clock.advance(60_000);
    const voters = ['agent-3', 'agent-17'].map((n) => site.addressOf(n));
    const old = voters.flatMap((a) => captured.get(a) ?? []);
    assert.is(old.length, voters.length, 'a multicast heartbeat of each voter captured');
    await site.sim.crash('agent-20');
    site.live.delete('agent-20');
    await site.sim.clock.advance(30_000);
    const [vote, digest] = [count(site, 'vote'), count(site, 'digest')];
    for (let s = 0; s < 60; s++) {
      for (const [i, a] of voters.entries()) site.sim.network.inject(a, old[i]);
      await site.sim.clock.advance(1000);
    }
    const made = [count(site, 'vote') - vote, count(site, 'digest') - digest];
    console.log(`  keyed replay: ${made[0]} vote exchanges, ${made[1]} digest compares in a minute of replays`);
    assert.equal(made, [0, 0]);
  } finally {
    await site.stopAll();
  }
});

/**
 * A lasting one-way cut: one camp hears the other, the other does not hear it. Each camp's heartbeats name views
 * unlike the other's for as long as the cut lasts: the votes must cost little over ten minutes (summaries served,
 * compares), and no agent loses an agent it can reach.
 */
test('a one-way cut lasting ten minutes: the camps voting against each other cost little', async () => {
  const site = new ScaleSite(41, 'default', 2);
  try {
    // Each camp stretched (over ~25 agents) so that each camp's heartbeats name their view.
    await site.startSettled(SPLIT);
    const [deaf, heard] = [site.names.slice(0, SPLIT / 2), site.names.slice(SPLIT / 2)].map((c) =>
      c.map((n) => site.addressOf(n)),
    );
    for (const a of heard) for (const b of deaf) site.sim.network.cut(a, b, true);
    await site.sim.clock.advance(60_000);
    const [vote, digest] = [count(site, 'vote'), count(site, 'digest')];
    site.meter.reset();
    await site.sim.clock.advance(600_000);
    const made = [count(site, 'vote') - vote, count(site, 'digest') - digest];
    const served = summaries(site);
    console.log(
      `  one-way cut, 10 min: ${made[0]} vote exchanges, ${made[1]} digest compares, ` +
        `${served.total} summaries served (most ${served.most} by one agent), ${SPLIT} agents`,
    );
    assert.ok(made[0] <= SPLIT * 6, `${made[0]} vote exchanges in 10 minutes`);
    assert.ok(made[1] <= SPLIT * 12, `${made[1]} digest compares in 10 minutes`);
  } finally {
    await site.stopAll();
  }
});

test.run();
