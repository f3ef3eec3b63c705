import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { fnv1a32, incarnationTag, MessageType, type Message } from '../../src/protocol/messages.js';
import '../helpers/no-unhandled.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * Open site: anyone may run a member. A hostile one hints made-up names (held only as unverified, their
 * endpoints a third party's where nothing listens) as if it held newer versions of them: `Catchup.named`
 * then gave them the 5 s retry ceiling again, and every agent's catch-ups went to their endpoints about
 * six times a minute instead of about once.
 */
const NAMES = 60;

const heartbeat = (msg: Partial<Message> & { name: string }): Uint8Array =>
  encodeMessage({
    type: MessageType.heartbeat,
    site: 'sim',
    incarnation: 1,
    version: 5,
    peerPort: 7771,
    hints: [],
    ...msg,
  }).bytes;

test('a member hinting made-up names draws no more catch-ups to their endpoints than their own datagrams', async () => {
  const site = new SimSite(1951, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  try {
    for (let i = 0; i < 4; i++) await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    assert.ok((await site.runUntilConverged(10_000)) >= 0, 'converged');
    const hostile = site.agents.get('agent-0')!;
    const ghost = (i: number) => `ghost-${i}`;
    const hints = Array.from({ length: NAMES }, (_, i) => ({
      nameHash: fnv1a32(ghost(i)),
      incarnationTag: incarnationTag(1),
      version: 6,
    }));
    let atGhosts = 0;
    site.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.route === 'changes' && e.to.startsWith('10.0.9.')) atGhosts++;
    };
    let measured = 0;
    for (let t = 0; t < 180; t++) {
      if (t % 5 === 0)
        for (let i = 0; i < NAMES; i++) site.network.inject(`10.0.9.${i + 1}`, heartbeat({ name: ghost(i) }));
      // The hostile member's own heartbeats, at its own address and in its own life, hinting every made-up name.
      const version = hostile.agent.directory.held('agent-0')?.version ?? 1;
      for (let k = 0; k < NAMES; k += 8) {
        const some = hints.slice(k, k + 8);
        site.network.inject(
          hostile.address,
          heartbeat({ name: 'agent-0', incarnation: hostile.incarnation, version, hints: some }),
        );
      }
      if (t === 120) measured = atGhosts;
      await site.clock.advance(1000);
    }
    site.network.onEvent = undefined;
    const perName = (atGhosts - measured) / 3 / NAMES;
    console.log(`  catch-ups per agent and made-up name in the third minute: ${perName.toFixed(2)}`);
    assert.ok(perName <= 2, `${perName} catch-ups per agent and made-up name in a minute`);
    assert.ok(site.converged(), 'the real agents stay converged');
  } finally {
    site.network.onEvent = undefined;
    await site.stopAll();
  }
});

test.run();
