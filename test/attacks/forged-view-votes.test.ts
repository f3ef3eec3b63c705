import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleSite } from '../swarm/scale-site.js';
import { forgeVote } from './forged-votes.js';

/**
 * A forger on an open site multicasts, every second for ten minutes, heartbeats in the names of two live agents,
 * from their own addresses (a spoofed UDP source), naming a view digest no agent holds (sync/view-votes.ts). Every
 * agent then sees two voters agree on a view unlike its own, steady: each compares its ring neighbours' digests,
 * and asks a summary only of one whose view differs (none here: 0 summaries, attacks/vote-storm). The compares
 * must stay spaced (the first that leaves the view as it was sends the spacing to its last, 2 minutes), and the
 * directory must stay right: no agent added, none lost.
 */
const AGENTS = 40;
const MINUTES = 10;

test('forged view votes cost each agent a few summaries in ten minutes, and change no directory', async () => {
  const site = new ScaleSite(23, 'default', 2);
  try {
    await site.startSettled(AGENTS);
    const forge = () => ['agent-3', 'agent-17'].forEach((name) => forgeVote(site, name, 0x5eed5eed));
    const exchanges = (why = 'vote') =>
      site.names.reduce((n, name) => n + site.agent(name).agent.metrics.viewExchanges.get({ why }), 0);
    const [before, compares] = [exchanges(), exchanges('digest')];
    for (let s = 0; s < MINUTES * 60; s++) {
      forge();
      await site.sim.clock.advance(1000);
    }
    const made = exchanges() - before;
    const perAgent = made / AGENTS;
    // Up to 2 neighbours compared for each vote that the spacing lets through.
    const compared = (exchanges('digest') - compares) / AGENTS / 2;
    console.log(
      `  ${made} vote exchanges, ${compared.toFixed(1)} compares an agent in ${MINUTES} min, ${AGENTS} agents`,
    );
    assert.ok(perAgent <= 1 + 1 + (MINUTES * 60) / 120, `${perAgent.toFixed(1)} exchanges an agent`);
    assert.ok(compared <= 1 + 1 + (MINUTES * 60) / 120, `${compared.toFixed(1)} compares an agent`);
    for (const name of site.names) assert.is(site.holdsAll(name), site.names.length, `${name}'s directory`);
    assert.is(site.falseLosses, 0, 'no live agent lost');
  } finally {
    await site.stopAll();
  }
});

test.run();
