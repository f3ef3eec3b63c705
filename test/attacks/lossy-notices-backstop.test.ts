import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing, type KeyRing } from '../../src/security/cluster-key.js';
import { Ring } from '../../src/sync/ring.js';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * attack17, surface 5 (idle14's budget curve). A crash is told by its 2 monitors' lost notices, each sent twice:
 * at 30 % loss a host misses all four about one time in 0.3⁴ ≈ 120, and then has only its backstop, 5 of its
 * judging intervals (~80 s at 200 agents with the 150 B/s floor). The scale run times the crash without loss.
 * Here 2 of 199 hosts still hold the crashed agent 10 s after. Measured further (seed 1723, one run each, nice
 * 19, load 7-11 beside the lead's bench, a script of this site with one more host deaf to the monitors): at 200
 * agents 3 other hosts held it 356 s; at 500 (7 minutes of CPU), 3 others for 1,210 to 1,393 s.
 *
 * Fixed by relayed notices (notice15, notice-relay.ts): each agent that took the loss from a notice tells its 2
 * monitors and 2 subjects by unicast, and a host that missed the multicast copies probes the crashed agent on
 * a neighbour's relay. Before (19f8bbf): 2 of 199 held it 10 s after on the open site (agent-131, agent-179),
 * 4 on the keyed one; after: 0 and 0, 788 relays each (4 per agent but the 2 monitors). ~45 s of CPU for both.
 */
const AGENTS = 200;
const WITHIN_MS = 10_000;
const DEAF_AGENTS = 100;

/** What the relays cost: unicast notices sent, at most one per ring neighbour (4) per agent for one crash. */
const RELAYS_PER_AGENT = 4;

async function lateHosts(keys?: KeyRing): Promise<{ late: string[]; relays: number }> {
  const site = new ScaleSite(1723, 'default', 2, {}, keys);
  try {
    await site.startSettled(AGENTS);
    await site.sim.clock.advance(20_000);
    site.sim.network.loss = 0.3;
    const crashed = site.names[17];
    const relays = () =>
      site.names.reduce((n, a) => n + site.agent(a).agent.metrics.announcementsSent.get({ type: 'relay' }), 0);
    const before = relays();
    site.live.delete(crashed);
    await site.sim.crash(crashed);
    await site.sim.clock.advance(WITHIN_MS);
    const late = site.names.filter(
      (n) => n !== crashed && site.agent(n).agent.directory.held(crashed)?.state === 'alive',
    );
    const sent = relays() - before;
    console.log(
      `  ${late.length} of ${AGENTS - 1} hold the crashed ${crashed} alive ${WITHIN_MS} ms after: ${late.join(' ')}; ` +
        `${sent} relays sent`,
    );
    return { late, relays: sent };
  } finally {
    await site.stopAll();
  }
}

const NAME = `${AGENTS} agents at 30 % loss: every host drops a crashed agent within ${WITHIN_MS / 1000} s`;
async function run(keys?: KeyRing): Promise<void> {
  const { late, relays } = await lateHosts(keys);
  assert.equal(late, []);
  assert.ok(relays <= RELAYS_PER_AGENT * (AGENTS - 1), `${relays} relays for one crash`);
}
test(`${NAME} (open site)`, () => run());
// Keyed, a relay is still only probed (second-hand word), never believed alone.
test(`${NAME} (keyed site)`, () => run(parseKeyRing(generateKey())));

/**
 * The mechanism itself, without loss's luck: one host deaf to every datagram of the crashed agent's 2 monitors (a
 * partial partition) hears the loss only from its ring neighbours' relays. Before them it held it to its backstop.
 */
test(`${DEAF_AGENTS} agents, no loss: a host deaf to the monitors drops a crashed agent within ${WITHIN_MS / 1000} s`, async () => {
  const site = new ScaleSite(1724, 'default', 2);
  try {
    await site.startSettled(DEAF_AGENTS);
    await site.sim.clock.advance(20_000);
    const crashed = site.names[17];
    const monitors = new Ring(site.names).monitorsOf(crashed);
    const deaf = site.names.find((n) => n !== crashed && !monitors.includes(n))!;
    const from = monitors.map((m) => site.addressOf(m));
    site.sim.network.dropAtSend = (a, b) => b === site.addressOf(deaf) && from.includes(a);
    site.live.delete(crashed);
    await site.sim.crash(crashed);
    await site.sim.clock.advance(WITHIN_MS);
    const held = site.agent(deaf).agent.directory.held(crashed)?.state;
    console.log(`  ${deaf}, deaf to ${monitors.join(' ')}, holds ${crashed} ${held} ${WITHIN_MS} ms after`);
    assert.is(held, 'lost');
  } finally {
    await site.stopAll();
  }
});

test.run();
