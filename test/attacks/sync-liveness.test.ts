import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * Liveness under bad luck, on the in-memory network: a crashed agent's endpoint taken over by another
 * agent (DHCP hands its address to a host that runs Herald on the same port, or a host's agent is
 * renamed and restarted). Probes of the crashed one are then answered, but as someone else.
 */
async function site(seed: number, keyed: boolean): Promise<SimSite> {
  const keys = keyed ? parseKeyRing(generateKey()) : undefined;
  const s = new SimSite(seed, {}, 1000, keys, { logLevel: 'silent', settleTurns: 1 });
  for (let i = 0; i < 5; i++) await s.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
  assert.ok((await s.runUntilConverged(10_000)) >= 0, 'converged');
  return s;
}

/** An unsigned heartbeat in the name of `name`, naming the life `incarnation`. */
function heartbeatOfLife(name: string, incarnation: number, version: number): Uint8Array {
  const msg = { type: MessageType.heartbeat, site: 'sim', name, incarnation, version, peerPort: 7771, hints: [] };
  return encodeMessage(msg).bytes;
}

for (const keyed of [false, true]) {
  test(`${keyed ? 'keyed' : 'open'}: a crashed agent whose endpoint another agent took over is lost`, async () => {
    const s = await site(keyed ? 1902 : 1901, keyed);
    try {
      const crashed = s.agents.get('agent-2')!;
      await s.crash('agent-2');
      await s.start('successor', [device('d-successor')], { address: crashed.address });
      await s.clock.advance(10_000);
      const stillAlive = s
        .running()
        .filter((a) => a.agent.directory.held('agent-2')?.state === 'alive')
        .map((a) => a.name);
      assert.equal(stillAlive, [], 'agent-2 lost everywhere within 10 s');
      for (const a of s.running())
        assert.is(a.agent.directory.held('successor')?.state, 'alive', `${a.name} sees the successor`);
    } finally {
      await s.stopAll();
    }
  });
}

test('open: a forged datagram naming a newer life of a live agent does not lose it', async () => {
  const s = await site(1903, false);
  try {
    const victim = s.agents.get('agent-2')!;
    // From its own address (a spoofed source): its probes then answer with an older life than the forged.
    s.network.inject(victim.address, heartbeatOfLife('agent-2', victim.incarnation + 1000, 3));
    for (let t = 0; t < 30; t++) {
      await s.clock.advance(1000);
      const notAlive = s
        .running()
        .filter((a) => a.name !== 'agent-2' && a.agent.directory.held('agent-2')?.state !== 'alive');
      assert.equal(
        notAlive.map((a) => a.name),
        [],
        `agent-2 alive everywhere ${t + 1} s after`,
      );
    }
  } finally {
    await s.stopAll();
  }
});

test('open: one forged heartbeat from another address naming a newer life does not freeze its changes', async () => {
  const s = await site(1904, false);
  try {
    const victim = s.agents.get('agent-2')!;
    const before = s.agents.get('agent-0')!.agent.directory.held('agent-2')!.version;
    // Any host of the LAN, once: every agent adopted the life it named before any probe, and then took the
    // victim's own datagrams (of its real, "older" life) for an old life's and dropped them.
    s.network.inject('10.0.9.9', heartbeatOfLife('agent-2', victim.incarnation + 1, 1));
    await s.clock.advance(2000);
    await s.change('agent-2', [device('d-2'), device('d-2b')]);
    await s.clock.advance(10_000);
    for (const a of s.running().filter((a) => a.name !== 'agent-2')) {
      const held = a.agent.directory.held('agent-2');
      assert.is(held?.state, 'alive', `${a.name} holds agent-2 alive`);
      assert.is(held?.incarnation, victim.incarnation, `${a.name} holds agent-2's real life`);
      assert.ok((held?.version ?? 0) > before, `${a.name} holds agent-2's change (version ${held?.version})`);
    }
  } finally {
    await s.stopAll();
  }
});

test.run();
