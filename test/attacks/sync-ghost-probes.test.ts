import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import '../helpers/no-unhandled.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * Open site: made-up agent names in unsigned datagrams whose (forged) source is an on-link address where
 * nothing listens, a third party's. Each datagram revived the name, so every agent probed it twice per
 * datagram (its silence, then the lost agent's re-probe), a probe failing at once each time: N agents'
 * TCP connections at an address of the attacker's choosing for every cheap datagram.
 */
const GHOSTS = 20;

test('made-up names repeated every 5 s draw probes at the unverified backoff, not two per datagram', async () => {
  const site = new SimSite(1841, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  const real = ['agent-0', 'agent-1', 'agent-2', 'agent-3'];
  try {
    for (const [i, name] of real.entries()) await site.start(name, [device(`d-${i}`)], { index: i + 1 });
    assert.ok((await site.runUntilConverged(10_000)) >= 0, 'converged');
    const ghost = (i: number) =>
      encodeMessage({
        type: MessageType.heartbeat,
        site: 'sim',
        name: `ghost-${i}`,
        incarnation: 7,
        version: 5,
        peerPort: 7771,
        hints: [],
      }).bytes;
    let probes = 0;
    for (let t = 0; t < 180; t++) {
      if (t % 5 === 0) for (let i = 0; i < GHOSTS; i++) site.network.inject(`10.0.9.${i + 1}`, ghost(i));
      if (t === 120)
        site.network.onEvent = (e) => {
          if (e.type === 'rpc' && e.route === 'hello' && e.to.startsWith('10.0.9.')) probes++;
        };
      await site.clock.advance(1000);
    }
    site.network.onEvent = undefined;
    const perGhost = probes / real.length / GHOSTS;
    console.log(`  probes per agent and made-up name in the third minute: ${perGhost.toFixed(1)}`);
    assert.ok(perGhost <= 3, `${perGhost} probes per agent and name in a minute (its datagrams came 12 times)`);
    assert.ok(site.converged(), 'the real agents stay converged');
  } finally {
    await site.stopAll();
  }
});

test.run();
