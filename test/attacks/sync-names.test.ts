import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../../src/directory/directory.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType, type Message } from '../../src/protocol/messages.js';
import { FakeClock } from '../../src/util/clock.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { MdnsSite } from '../helpers/mdns-sim.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * Issue 16 items 7 and 10, on the in-memory network (the sync's own logic; the wire is not the point):
 * a flood of made-up agent names, with or without devices, costs bounded memory and a bounded request
 * rate, indefinitely.
 */

function fake(name: string, extra: Partial<Message> = {}): Uint8Array {
  const msg: Message = {
    type: MessageType.heartbeat,
    site: 'sim',
    name,
    incarnation: 1,
    version: 5,
    peerPort: 7771,
    hints: [],
    ...extra,
  };
  return encodeMessage(msg).bytes;
}

const attacker = (i: number) => `10.9.${i >> 8}.${i & 255}`;

test('without a key, 200 made-up names in datagrams every second: catch-ups stay under 5 a second, peers capped', async () => {
  const site = new SimSite(201);
  for (const n of ['a', 'b']) await site.start(n, [device(`${n}-1`)]);
  await site.clock.advance(2000);
  const flood = async (seconds: number) => {
    for (let s = 0; s < seconds; s++) {
      for (let i = 0; i < 200; i++) site.network.inject(attacker(i), fake(`fake-${i}`));
      await site.clock.advance(1000);
    }
  };
  await flood(60); // the first minute: discovery and the first retries
  const before = site.network.rpcs;
  await flood(120);
  const perAgentPerSecond = (site.network.rpcs - before) / 2 / 120;
  console.log(`    ${perAgentPerSecond.toFixed(2)} peer requests a second per agent under the flood (was ~40)`);
  assert.ok(perAgentPerSecond < 5, `${perAgentPerSecond} requests a second`);
  const b = site.agents.get('b')!.agent;
  assert.ok(b.directory.agents().length <= 128 + 2, `${b.directory.agents().length} agents held`);
  assert.ok(b.metrics.invalidInput.get({ source: 'sync', reason: 'unverified-peers' }) > 0, 'the bound is counted');
  assert.is(b.directory.held('a')?.state, 'alive', 'the real peer is unaffected');
  await site.stopAll();
});

test('datagrams naming new agents with 440-device deltas put no device in the directory', async () => {
  const site = new SimSite(202);
  for (const n of ['a', 'b']) await site.start(n, [device(`${n}-1`)]);
  await site.clock.advance(2000);
  const many = Array.from({ length: 440 }, (_, i) => device(`d${i}`));
  for (let i = 0; i < 300; i++) {
    const delta = { version: 1, added: many, updated: [], removed: [] };
    site.network.inject(attacker(i), fake(`fake-${i}`, { type: MessageType.announce, version: 1, delta }));
    await site.clock.advance(5);
  }
  await site.clock.advance(10_000);
  const b = site.agents.get('b')!.agent;
  assert.is(b.directory.counts().devices, 2, 'only the two real devices');
  assert.ok(b.directory.agents().length <= 128 + 2);
  await site.stopAll();
});

test('the directory refuses what would pass its bounds on devices held, and counts nothing half-applied', () => {
  const dir = new Directory({ clock: new FakeClock() }, { site: 's', maxDevices: 1000 });
  const set = (n: number, p: string) =>
    Array.from({ length: n }, (_, i) => ({ version: 1, device: device(`${p}${i}`) }));
  for (let o = 0; o < 5; o++) dir.ensureOrigin(`o${o}`);
  assert.is(dir.applySnapshot('o0', 1, 1, set(600, 'x')), 'applied');
  assert.is(dir.applySnapshot('o1', 1, 1, set(600, 'y')), 'refused');
  assert.is(dir.applySnapshot('o1', 1, 1, set(400, 'y')), 'applied');
  assert.is(dir.applyDeltas('o2', 1, [{ version: 1, added: [device('z')], updated: [], removed: [] }]), 'refused');
  assert.is(dir.applySnapshot('o0', 1, 2, set(100, 'x')), 'applied', 'shrinking makes room');
  assert.is(dir.applyDeltas('o2', 1, [{ version: 1, added: [device('z')], updated: [], removed: [] }]), 'applied');
  assert.is(dir.counts().devices, 501);
  assert.is(dir.applySnapshot('o3', 1, 1, set(1025, 'w')), 'refused', 'more than one agent may declare');
});

test('with a key, 200 made-up mDNS names every second: verification probes stay within 5 a second (plus the burst)', async () => {
  const site = await MdnsSite.pair(5, parseKeyRing(generateKey()));
  await site.clock.advance(1000);
  const b = site.agents.get('b')!;
  const flood = async (seconds: number) => {
    for (let s = 0; s < seconds; s++) {
      for (let i = 0; i < 200; i++) {
        const advert = {
          name: `fake-${i}`,
          site: 'sim',
          incarnation: 1,
          version: 5,
          address: attacker(i),
          peerPort: 7771,
        };
        b.ctx!.sync.observe(advert, 'mdns');
      }
      await site.clock.advance(1000);
    }
  };
  await flood(120);
  const before = site.network.rpcs;
  await flood(120);
  const perSecond = (site.network.rpcs - before) / 120;
  console.log(`    ${perSecond.toFixed(2)} peer requests a second under the mDNS flood`);
  assert.ok(perSecond < 5.5, `${perSecond} requests a second`);
  assert.is(b.agent.directory.agents().length, 2, 'no made-up agent listed');
  assert.is(site.state('b', 'a'), 'alive');
  await site.stopAll();
});

test.run();
