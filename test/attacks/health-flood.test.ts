import '../helpers/no-unhandled.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testIf } from '../helpers/requirements.js';
import { costlyJunk } from './costly-junk.js';
import { AttackSite, attackMissing, GROUP } from './harness.js';

/**
 * Attack on ac23ec8: an open site's monitor sends its early lost notice only while its local health score is
 * 0, and the score rises with its own loop's lateness. Can a flood of the costliest datagrams an open site
 * still decodes (a valid announcement whose delta inflates fifty-fold, from many source addresses so that
 * the per-source limit passes them) make a monitor's loop late enough to hold its notices back?
 * Finding (on a loaded host): yes. Here, with the machine at load 10 on 2 cores, 2 of 3 floods of 8,000
 * datagrams (of which the agent read about 10 %, 400-490 kB: decoding them is what made it late) raised the
 * observer's score to 1 or 2; the same flood of 1-byte junk never did (0 of 2). A multicast flood reaches
 * both monitors of every agent at once: then a vanished host is found by every agent's own backstop, in
 * ~10 s instead of ~6, with 2 notices from each agent (test/attacks/notice-held-back.test.ts). Load-dependent,
 * so the score's assertion is HERALD_KNOWN_FAILING=1 only; what always holds: the score decays once it ends.
 */
testIf(test, attackMissing(), 'a flood of costly junk leaves an open site’s monitors at local health 0', async () => {
  const site = await AttackSite.create({ agents: 3, open: true });
  try {
    const junk = costlyJunk('netns', 0);
    const [observer] = site.agents;
    let worst = 0;
    const state = { polling: true };
    const poll = (async () => {
      while (state.polling) {
        worst = Math.max(worst, await site.metric(observer, 'herald_local_health').catch(() => 0));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const sent = await site.tool<{ sent: number; errors: number }>(site.attacker, 'flood', {
      from: await site.addAddresses(site.attacker, 10),
      group: GROUP,
      port: site.groupPort,
      rate: 2000,
      ms: 4000,
      datagrams: [junk.unsigned.toString('hex')],
    });
    // The lateness of the loop counts ten periods: read once more after the flood.
    await new Promise((r) => setTimeout(r, 500));
    state.polling = false;
    await poll;
    worst = Math.max(worst, await site.metric(observer, 'herald_local_health'));
    const bytes = await site.metric(observer, 'herald_datagram_bytes_received_total');
    console.log(`  ${JSON.stringify(sent)}; worst herald_local_health ${worst}; ${bytes} B received`);
    assert.ok(sent.sent >= 7000, `the flood was sent (${sent.sent})`);
    if (process.env.HERALD_KNOWN_FAILING === '1')
      assert.is(worst, 0, 'the flood made the monitor’s loop late enough to hold its early notices');
    // Held: the score is the loop's, not the attacker's to keep up: ten periods after the flood it is 0 again.
    const end = Date.now() + 12_000;
    while (Date.now() < end && (await site.metric(observer, 'herald_local_health')) > 0)
      await new Promise((r) => setTimeout(r, 500));
    assert.is(await site.metric(observer, 'herald_local_health'), 0, 'local health back to 0 after the flood');
    for (const h of site.agents) assert.ok(site.running(h), `${h.name} is still running`);
  } finally {
    await site.destroy();
  }
});

test.run();
