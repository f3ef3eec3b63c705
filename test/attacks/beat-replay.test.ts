import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * A beat goes to the sender's 2 monitors only, so the other agents' replay mark for the sender (the sender
 * time of its newest datagram they heard) is its last multicast heartbeat, minutes old on a large site. A
 * LAN attacker who captured one beat can replay it, from the sender's (spoofed) address, to any other agent
 * within the envelope's 2-minute window. Holds on main (a guard, issue 18's attack round): the monitors lose
 * it in ~2.5 s and their notice is believed; replays refused as such.
 */
test("a crashed agent's captured beat, replayed to agents that are not its monitors, keeps it heard by none", async () => {
  const site = new ScaleSite(21, 'default', 2, { heartbeatBudget: 36 }, parseKeyRing(generateKey()));
  try {
    for (let i = 0; i < 30; i++) {
      await site.start(`agent-${i}`, i + 1);
      await site.sim.clock.advance(10);
    }
    await site.sim.clock.advance(20_000);
    const victim = 'agent-7';
    const address = site.addressOf(victim);
    let beat: Uint8Array | undefined;
    site.sim.network.onSend = (from, data) => {
      if (from === address && data[3] === MessageType.beat) beat = data;
    };
    await site.sim.clock.advance(3_000);
    if (!beat) throw new Error('no beat was captured');
    const captured = beat;
    await site.sim.crash(victim);
    site.live.delete(victim);
    const others = [...site.live];
    const replays = () =>
      others.reduce((n, o) => n + site.agent(o).agent.metrics.announcementsIgnored.get({ reason: 'replay' }), 0);
    const before = replays();
    let t = 0;
    while (others.some((o) => site.agent(o).agent.directory.held(victim)?.state === 'alive') && t < 60_000) {
      for (const o of others) site.sim.network.injectTo(address, site.addressOf(o), captured);
      await site.sim.clock.advance(500);
      t += 500;
    }
    console.log(`  lost everywhere after ${t} ms of replays; ${replays() - before} refused as replays`);
    assert.ok(t <= 15_000, `still alive somewhere after ${t} ms of replays`);
    // Replays go on within the window: a lost agent "heard again" would be revived and probed, or believed.
    const revived = new Set<string>();
    for (let k = 0; k < 40; k++) {
      for (const o of others) site.sim.network.injectTo(address, site.addressOf(o), captured);
      await site.sim.clock.advance(500);
      for (const o of others) if (site.agent(o).agent.directory.held(victim)?.state === 'alive') revived.add(o);
    }
    assert.equal([...revived], [], 'agents that held the crashed agent alive again');
  } finally {
    site.sim.network.onSend = undefined;
    await site.stopAll();
  }
});

test.run();
