import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../../src/sync/ring.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { forgeVote } from './forged-votes.js';
import { missedStart } from '../helpers/missed-start.js';

/** Forged heartbeats a second, each naming a digest of its own, in the names of live agents from their addresses. */
const FORGED_PER_SECOND = 80;

/**
 * The votes' tally keeps 8 digests, the oldest dropped for a new one (sync/view-votes.ts). A forger on an open site
 * that multicasts heartbeats each naming a digest never named before, in live agents' names from their addresses,
 * could drop the site's real view from every tally before a second voter names it: the host that missed a new agent
 * (test/sync-view-votes.test.ts) would never count two voters. Held: at 60 agents real heartbeats name the site's
 * view ~10 times a second, so two meet in the tally between forgeries (80 a second here: 3.9 s; 400 a second, from
 * before the host could hear the new agent: 0.75 s, in a probe). A guard, not a finding.
 */
test('a stream of made-up digests does not keep a host from counting the site view', async () => {
  const site = new ScaleSite(11, 'default', 2);
  await site.startSettled(59);
  try {
    const host = 'agent-30';
    const origin = 'agent-59';
    const near = new Ring([...site.names, origin]);
    assert.ok(!near.subjectsOf(host).includes(origin) && !near.monitorsOf(host).includes(origin), 'ring neighbours');
    const held = await missedStart(site, host, origin, 60, () => site.sim.clock.advance(10_000));
    const since = site.now();
    let view = 0x10000;
    const spoofed = site.names.filter((n) => n !== host && n !== origin);
    while (held()?.version !== 1 && site.now() - since < 60_000) {
      // Spread over the second: a burst leaves the rest of it for two real votes to meet in the tally.
      for (let i = 0; i < FORGED_PER_SECOND / 40; i++) forgeVote(site, spoofed[view % spoofed.length], view++);
      await site.sim.clock.advance(25);
    }
    const took = site.now() - since;
    console.log(
      `  ${host} held ${origin} ${took} ms after it could hear it, beside ${FORGED_PER_SECOND} forged digests/s`,
    );
    assert.is(held()?.version, 1, `${host} did not hold ${origin} 60 s after it could hear it`);
    assert.ok(took <= 15_000, `${host} learnt ${origin} ${took} ms after it could hear it`);
  } finally {
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

test.run();
