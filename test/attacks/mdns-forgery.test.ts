import { createServer } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attacker, forgedAdvert, keyedPair, keyFile, startAgent, until } from './mdns-kit.js';

// Issue 16 items 3–7: mDNS carries no authentication, so with a cluster key nothing it says is applied
// without a signed answer from the agent named. Real agent processes on loopback, mDNS only.

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a forged mDNS goodbye does not mark a live keyed agent left (item 4)', async () => {
  const pair = await keyedPair('mg');
  const evil = await attacker();
  try {
    const { a, b, site } = pair;
    // a1 may know b1 from a signed hello before any mDNS: a goodbye counts once a1 has heard b1's advert.
    await until(
      async () => (await a.metric('herald_announcements_received_total', 'mdns-advert')) >= 1,
      5000,
      "a1 heard b1's advert",
    );
    for (let i = 0; i < 3; i++) {
      await evil.send(forgedAdvert('b1', site, { inc: String(b.incarnation), ver: '1' }, b.peerPort, 0));
      await settle(100);
    }
    await settle(2500);
    const seen = (await a.agents()).find((x) => x.name === 'b1');
    assert.is(seen?.state, 'alive', 'b1 still alive at a1 after a forged goodbye');
    await until(
      async () => (await a.metric('herald_mdns_hints_total', 'goodbye-refuted')) >= 1,
      5000,
      'the goodbye was checked and refuted',
    );
    assert.is((await a.agents()).find((x) => x.name === 'b1')?.state, 'alive', 'and b1 is still alive');
  } finally {
    evil.close();
    await pair.close();
  }
});

test('a forged TXT with a huge incarnation and another port changes nothing (item 5)', async () => {
  const pair = await keyedPair('mi');
  const evil = await attacker();
  try {
    const { a, b, site } = pair;
    const forged = forgedAdvert('b1', site, { inc: '9000000000000000', ver: '7' }, 1);
    for (let i = 0; i < 3; i++) {
      await evil.send(forged);
      await settle(100);
    }
    await settle(2500);
    const seen = (await a.agents()).find((x) => x.name === 'b1');
    assert.is(seen?.state, 'alive');
    assert.is(seen?.incarnation, b.incarnation, 'the incarnation b1 itself signed');
    assert.is(seen?.peerPort, b.peerPort, 'the peer port b1 itself answers on');
  } finally {
    evil.close();
    await pair.close();
  }
});

test('an agent with the wrong key and fake names never show up as agents (items 3, 7)', async () => {
  const pair = await keyedPair('mw');
  const evil = await attacker();
  // What answers the fake adverts: counts the requests an attacker could make agents send.
  let requests = 0;
  const trap = createServer((req, res) => {
    requests += 1;
    res.end('{}');
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
  const trapPort = (trap.address() as { port: number }).port;
  const { a, site, dir } = pair;
  const intruder = await startAgent(dir, 'w1', site, await keyFile(dir));
  try {
    const t0 = Date.now();
    for (let p = 0; p < 10; p++) {
      const packets = Array.from({ length: 20 }, (_, i) =>
        forgedAdvert(`fake${p}x${i}`, site, { inc: '5', ver: '3' }, trapPort),
      );
      await evil.send({ type: 'response', answers: packets.flatMap((x) => x.answers ?? []).slice(0, 60) });
    }
    await settle(4000);
    const names = (await a.agents()).map((x) => x.name).sort();
    assert.equal(names, ['a1', 'b1'], 'only the keyed agents');
    // Each agent probes at most 10 names a second after a burst of 20, and only the packet's sender:
    // 150 names cost a bounded trickle, not a catch-up storm to an address of the attacker's choosing.
    const bound = 2 * (20 + 10 * ((Date.now() - t0) / 1000));
    assert.ok(requests <= bound, `${requests} requests to the attacker's endpoint (bound ${bound})`);
    assert.ok((await a.metric('herald_mdns_hints_total', 'probe-unauthenticated')) >= 1, 'w1 was asked and refused');
  } finally {
    await intruder.run.stop('SIGKILL');
    trap.close();
    evil.close();
    await pair.close();
  }
});

test('mDNS from another source port or by unicast is dropped unread (item 6)', async () => {
  const pair = await keyedPair('mu');
  const fromOtherPort = await attacker(0);
  const unicast = await attacker();
  try {
    const { a, site } = pair;
    const before = await a.metric('herald_invalid_input_total', 'reason="source-port"');
    await fromOtherPort.send(forgedAdvert('u1', site, { inc: '5', ver: '1' }, 9));
    await unicast.send(forgedAdvert('u2', site, { inc: '5', ver: '1' }, 9), '127.0.0.1');
    await until(
      async () => (await a.metric('herald_invalid_input_total', 'reason="source-port"')) > before,
      3000,
      'the packet from another port is counted as dropped',
    );
    await settle(1000);
    const names = (await a.agents()).map((x) => x.name).sort();
    assert.equal(names, ['a1', 'b1']);
  } finally {
    fromOtherPort.close();
    unicast.close();
    await pair.close();
  }
});

test.run();
