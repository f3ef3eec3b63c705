import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a32 } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { PeerTable, type Peer } from '../../src/sync/peer-table.js';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * A beat names its sender by a 32-bit FNV-1a hash of its name (protocol/beat.ts), and the monitor finds
 * the sender's record by that hash. Two names that share a hash (1 in 8,600 sites of 1,000 agents by
 * chance; any name a member picks on purpose) shared one slot of the peer table's hash index: the beats of
 * the one added first were refused as `unknown-beat` at its monitors, which then probed it as if silent and
 * dropped the ring's hints its beats carried (at 30 % loss the same: ~1 beat a second refused).
 */
const A = 'sensor-539599';
const B = 'sensor-722382';

async function keyedSite(seed: number): Promise<ScaleSite> {
  const site = new ScaleSite(seed, 'default', 2, { heartbeatBudget: 36 }, parseKeyRing(generateKey()));
  const names = [A, ...Array.from({ length: 28 }, (_, i) => `agent-${i}`), B];
  for (const [i, n] of names.entries()) {
    await site.start(n, i + 1);
    await site.sim.clock.advance(10);
  }
  await site.sim.clock.advance(20_000);
  return site;
}

test('two agents whose names share a hash both have their beats taken as heartbeats', async () => {
  assert.is(fnv1a32(A), fnv1a32(B), 'the names collide');
  const site = await keyedSite(7);
  try {
    const read = () =>
      [...site.live].map((n) => {
        const m = site.agent(n).agent.metrics;
        return {
          unknown: m.announcementsIgnored.get({ reason: 'unknown-beat' }),
          probes: m.livenessProbes.get({ result: 'alive' }) + m.livenessProbes.get({ result: 'lagged' }),
        };
      });
    const before = read();
    await site.sim.clock.advance(20_000);
    const after = read();
    const unknown = after.reduce((n, a, i) => n + a.unknown - before[i].unknown, 0);
    const probes = after.reduce((n, a, i) => n + a.probes - before[i].probes, 0);
    console.log(
      `  20 s idle, 30 agents: ${unknown} beats refused as unknown, ${probes} probes of live agents, ${site.falseLosses} false losses`,
    );
    assert.is(unknown, 0, 'beats of a live member refused as from an unknown sender');
    assert.ok(probes <= 5, `${probes} probes of live subjects in an idle 20 s: beats count as heard`);
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test('removing one of two names that share a hash leaves the other found by its hash (hints, beats)', () => {
  const table = new PeerTable({ peers: 10, unverifiedPeers: 10 });
  const peer = (name: string) => ({ name, verified: true }) as unknown as Peer;
  table.add(peer(A));
  table.add(peer(B));
  table.remove(B);
  assert.is(table.byHash(fnv1a32(A))?.name, A);
});

test.run();
