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
    const forged = encodeMessage({
      type: MessageType.heartbeat,
      site: 'sim',
      name: 'agent-2',
      incarnation: victim.incarnation + 1000,
      version: 3,
      peerPort: 7771,
      hints: [],
    }).bytes;
    s.network.inject(victim.address, forged);
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

test.run();
