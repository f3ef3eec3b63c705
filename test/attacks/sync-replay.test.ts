import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * Issue 16 item 15 with a cluster key, on the in-memory network with the real HMAC envelope: a signed
 * heartbeat replayed within the envelope's window neither moves an agent's address nor keeps a crashed
 * agent heard.
 */

async function keyedSite(seed: number): Promise<{ site: SimSite; captured: () => Uint8Array }> {
  const site = new SimSite(seed, {}, 1000, parseKeyRing(generateKey()));
  for (const n of ['a', 'b']) await site.start(n, [device(`${n}-1`)]);
  let last: Uint8Array | undefined;
  site.network.onSend = (from, data) => {
    if (from === site.agents.get('a')!.address && data[3] === MessageType.heartbeat) last = data;
  };
  await site.clock.advance(3000);
  return { site, captured: () => last! };
}

test("a replayed signed heartbeat from another address does not move the agent's address", async () => {
  const { site, captured } = await keyedSite(301);
  const b = site.agents.get('b')!.agent;
  const heartbeat = captured();
  for (let i = 0; i < 5; i++) {
    site.network.inject('10.0.0.66', heartbeat);
    await site.clock.advance(300);
  }
  assert.is(b.directory.agent('a')!.address, site.agents.get('a')!.address);
  assert.is(b.directory.agent('a')!.state, 'alive');
  await site.stopAll();
});

test('replays of a crashed agent\'s signed heartbeat do not keep it "heard": lost as if silent', async () => {
  const { site, captured } = await keyedSite(302);
  const a = site.agents.get('a')!;
  const b = site.agents.get('b')!.agent;
  const heartbeat = captured();
  await a.agent.stop({ goodbye: false }); // crashed: nothing listens at its endpoint any more
  let t = 0;
  while (b.directory.held('a')!.state === 'alive' && t < 20_000) {
    site.network.inject(a.address, heartbeat); // from its own (spoofed) address, twice a second
    await site.clock.advance(500);
    t += 500;
  }
  assert.ok(t <= 4000, `lost after ${t} ms of replays`);
  assert.ok(b.metrics.announcementsIgnored.get({ reason: 'replay' }) > 0, 'replays counted');
  await site.stopAll();
});

test('a real move (a restart on another address) is believed once a probe there answers', async () => {
  const { site } = await keyedSite(303);
  await site.stop('a');
  await site.start('a', [device('a-1')], { index: 9 });
  await site.clock.advance(2000);
  const b = site.agents.get('b')!.agent;
  assert.is(b.directory.agent('a')!.address, '10.0.0.9');
  assert.is(b.directory.agent('a')!.state, 'alive');
  await site.stopAll();
});

test.run();
