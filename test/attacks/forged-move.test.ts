import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { Ring } from '../../src/sync/ring.js';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * attack14, keyed site: can a LAN attacker without the key "move" an agent? A move is believed once a probe at
 * the new address answers as the agent; a datagram from elsewhere only asks for that probe, and since attack14
 * a beat from elsewhere does too (an agent that really moved). The attacker replays the victim's captured
 * signed heartbeat and beat from its own address, to every agent, after the originals arrived: each is a replay
 * (its sender time is not newer than the newest heard), so no probe goes to the attacker's address, no agent
 * holds the victim anywhere else, and none loses it.
 */
test('keyed: replays of an agent’s heartbeat and beat from another address move it nowhere, draw no probe', async () => {
  const site = new ScaleSite(22, 'default', 2, { heartbeatBudget: 36 }, parseKeyRing(generateKey()));
  try {
    const names = Array.from({ length: 30 }, (_, i) => `agent-${i}`);
    for (const [i, name] of names.entries()) {
      await site.start(name, i + 1);
      await site.sim.clock.advance(10);
    }
    await site.sim.clock.advance(20_000);
    const victim = 'agent-7';
    const address = site.addressOf(victim);
    const attacker = '10.0.9.9';
    const captured: Uint8Array[] = [];
    site.sim.network.onSend = (from, data) => {
      if (from === address && (data[3] === MessageType.beat || data[3] === MessageType.heartbeat)) captured.push(data);
    };
    // Its monitors hear beats; everyone hears a multicast heartbeat (an announcement's would do as well).
    await site.sim.clock.advance(3_000);
    await site.change(victim);
    await site.sim.clock.advance(2_000);
    site.sim.network.onSend = undefined;
    const kinds = new Set(captured.map((d) => d[3]));
    assert.ok(kinds.has(MessageType.beat), 'no beat captured');
    const toAttacker: string[] = [];
    site.sim.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.to.startsWith(`${attacker}:`)) toAttacker.push(`${e.from} ${e.route}`);
    };
    const others = names.filter((n) => n !== victim);
    for (let round = 0; round < 20; round++) {
      for (const data of captured) for (const o of others) site.sim.network.injectTo(attacker, site.addressOf(o), data);
      await site.sim.clock.advance(500);
    }
    site.sim.network.onEvent = undefined;
    const elsewhere = others.filter((o) => site.agent(o).agent.directory.agent(victim)?.address !== address);
    const lost = others.filter((o) => site.agent(o).agent.directory.held(victim)?.state !== 'alive');
    console.log(
      `  ${captured.length} captured datagrams replayed 20 times to ${others.length} agents: ${toAttacker.length} ` +
        `requests to the attacker's address; monitors ${new Ring(names).monitorsOf(victim).join(', ')}`,
    );
    assert.equal(toAttacker, [], 'requests went to the attacker’s address');
    assert.equal(elsewhere, [], 'agents hold the victim at another address');
    assert.equal(lost, [], 'agents lost the victim');
  } finally {
    await site.stopAll();
  }
});

test.run();
