import '../helpers/no-unhandled.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { testIf } from '../helpers/requirements.js';
import { AttackSite, attackMissing, PEER_PORT } from './harness.js';

/**
 * An open site (no key): the attacker sends one heartbeat in an agent's name whose IPv4 source is forged to
 * that agent's own address (a raw socket: sending needs no ARP), naming a newer life of it. Datagrams from
 * an agent's own endpoint are how a restart in place is heard at once; believed whole, that one datagram
 * made every agent take the agent's real datagrams and probe answers for an old life's: its data was frozen
 * everywhere until it restarted.
 */
interface AgentRow {
  name: string;
  state: string;
  incarnation: number;
  version: number;
}

testIf(
  test,
  attackMissing(),
  "open site: one datagram forged from an agent's own address naming a newer life does not freeze its data",
  async () => {
    const site = await AttackSite.create({ agents: 3, open: true });
    try {
      const [victim, ...others] = site.agents;
      const rowOf = async (viewer: (typeof others)[number]) =>
        ((await site.bed.get(viewer, '/v1/agents')) as { agents: AgentRow[] }).agents.find(
          (a) => a.name === victim.name,
        );
      const real = (await rowOf(others[0]))!;
      const forged = encodeMessage({
        type: MessageType.heartbeat,
        site: 'netns',
        name: victim.name,
        incarnation: real.incarnation + 1000,
        version: 1,
        peerPort: PEER_PORT,
        hints: [],
      }).bytes;
      await site.spoof(site.attacker, { address: victim.address, port: 40_000 }, forged);
      await new Promise((r) => setTimeout(r, 300));
      // The victim changes its set: every other agent must hold the change, of the victim's real life.
      await site.site.writeDevice(victim, `${victim.name}-new`);
      const all = [...site.agents.map((h) => `${h.name}/${h.name}-dev`), `${victim.name}/${victim.name}-new`];
      const took = await site.site.allSee(all, 5000, "the victim's change everywhere after the forged datagram");
      console.log(`  the victim's change on every agent ${took} ms after it was written`);
      for (const h of others) {
        const row = (await rowOf(h))!;
        assert.is(row.state, 'alive', `${h.name} holds ${victim.name} alive`);
        assert.is(row.incarnation, real.incarnation, `${h.name} holds ${victim.name}'s real life`);
        // The datagram did arrive (the test is not passing for want of an attack): its life was refuted.
        const refuted = await site.metric(h, 'herald_provisional_lives_total', 'result="refuted"');
        assert.ok(refuted >= 1, `${h.name} refuted the forged life (${refuted})`);
      }
    } finally {
      await site.destroy();
    }
  },
);

testIf(test, attackMissing(), 'open site: a restart in place still reaches every agent at once', async () => {
  const site = await AttackSite.create({ agents: 3, open: true });
  try {
    const [victim, ...others] = site.agents;
    const catchups = async () => {
      let [sum, count] = [0, 0];
      for (const h of others) {
        sum += await site.metric(h, 'herald_catchup_duration_seconds_sum');
        count += await site.metric(h, 'herald_catchup_duration_seconds_count');
      }
      return { sum, count };
    };
    const before = await catchups();
    await site.site.agents.get(victim.name)!.proc.stop('SIGKILL');
    await site.site.removeDevice(victim, `${victim.name}-dev`);
    await site.site.writeDevice(victim, `${victim.name}-new`);
    await site.site.start(victim);
    const all = [...others.map((h) => `${h.name}/${h.name}-dev`), `${victim.name}/${victim.name}-new`];
    const took = await site.site.allSee(all, 3000, "the restarted agent's new set everywhere");
    const after = await catchups();
    const mean = (after.sum - before.sum) / Math.max(1, after.count - before.count);
    console.log(
      `  a restart in place: its new set on every agent ${took} ms after it started (polled); ` +
        `${after.count - before.count} catch-ups, mean ${(mean * 1000).toFixed(1)} ms`,
    );
    for (const h of others)
      assert.ok(
        (await site.metric(h, 'herald_provisional_lives_total', 'result="confirmed"')) >= 1,
        `${h.name} confirmed it at its endpoint`,
      );
  } finally {
    await site.destroy();
  }
});

test.run();
