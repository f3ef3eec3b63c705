import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryNetwork } from '../src/transport/memory-network.js';
import { FakeClock } from '../src/util/clock.js';
import { seededRandom } from '../src/util/random.js';
import { CostMeter } from './swarm/cost.js';
import { runScale } from './swarm/scale.js';

/**
 * The simulator's cost model (issue 18): one multicast is one transmission on the shared medium and
 * N-1 receptions; peer answers are charged to the agent that served them and the one that asked.
 */
function lan(hosts: number) {
  const clock = new FakeClock(0, undefined, 1);
  const network = new MemoryNetwork({ clock, random: seededRandom(7) });
  const meter = new CostMeter();
  const addresses = Array.from({ length: hosts }, (_, i) => `10.0.0.${i + 1}`);
  const transports = addresses.map((a) => meter.transport(a, network.datagramTransport(a)));
  return { clock, network, meter, addresses, transports };
}

test('one multicast is counted once site-wide, sent once by its sender and received once by each other host', async () => {
  const { clock, meter, addresses, transports } = lan(5);
  const heard: string[] = [];
  for (const [i, t] of transports.entries()) await t.start(() => heard.push(addresses[i]));
  transports[0].send(new Uint8Array(100));
  await clock.advance(10);
  assert.equal(meter.site, { multicast: 1, multicastBytes: 100, unicast: 0, unicastBytes: 0 });
  const sender = meter.of(addresses[0]);
  assert.is(sender.multicastSent, 1);
  assert.is(sender.multicastSentBytes, 100);
  assert.is(sender.multicastReceived, 0, "the sender's own copy is not a reception");
  for (const a of addresses.slice(1)) {
    assert.is(meter.of(a).multicastReceived, 1, a);
    assert.is(meter.of(a).multicastReceivedBytes, 100, a);
    assert.is(meter.of(a).unicastReceived, 0, a);
  }
  assert.is(heard.filter((a) => a !== addresses[0]).length, 4, 'the wrapped handlers still get every datagram');
  assert.equal(meter.of(addresses[1]).receivedByType, { 'multicast other': { count: 1, bytes: 100 } }, 'no header');
  meter.reset();
  assert.is(meter.of(addresses[1]).multicastReceived, 0);
  assert.is(meter.site.multicast, 0);
});

test('a unicast datagram, where the transport has one, is one transmission and one reception', async () => {
  const { clock, meter, addresses, transports } = lan(3);
  for (const t of transports) await t.start(() => {});
  transports[0].sendTo(new Uint8Array(40), { address: addresses[1], port: 7770 });
  await clock.advance(10);
  assert.is(meter.site.unicast, 1);
  assert.is(meter.site.multicast, 0);
  assert.is(meter.of(addresses[1]).unicastReceived, 1);
  assert.is(meter.of(addresses[1]).unicastReceivedBytes, 40);
  assert.is(meter.of(addresses[2]).unicastReceived, 0);
});

test('a peer answer is charged to the agent that served it and to the one that asked', async () => {
  const { clock, network, meter, addresses } = lan(2);
  const body = { name: 'b', site: 's', incarnation: 1, version: 1, format: 1 };
  network.servePeer(
    { address: addresses[1], port: 7771 },
    meter.service(addresses[1], { handle: () => ({ status: 200, body }) }),
  );
  const client = meter.peers(addresses[0], network.peerClient(addresses[0]));
  const answer = client.hello({ address: addresses[1], port: 7771 }, 1000);
  await clock.advance(10);
  assert.is((await answer).name, 'b');
  const bytes = Buffer.byteLength(JSON.stringify(body));
  assert.is(meter.of(addresses[0]).requestsMade, 1);
  assert.is(meter.of(addresses[0]).requestBytesReceived, bytes);
  assert.is(meter.of(addresses[1]).requestsServed, 1);
  assert.is(meter.of(addresses[1]).catchupsServed, 0, 'a hello is a probe, not a catch-up');
  assert.is(meter.of(addresses[1]).requestBytesServed, bytes);
});

test('with shareAnswers, agents that get the same catch-up answer share one frozen copy; without, each has its own', async () => {
  const snapshot = { kind: 'snapshot', origin: 'c', incarnation: 1, version: 1, entries: [] };
  for (const share of [true, false]) {
    const clock = new FakeClock(0, undefined, 1);
    const network = new MemoryNetwork({ clock, random: seededRandom(7) }, { shareAnswers: share });
    // A fresh object per request, as the peer service makes: only the bytes are the same.
    network.servePeer({ address: '10.0.0.3', port: 7771 }, { handle: () => ({ status: 200, body: { ...snapshot } }) });
    const ask = (from: string) =>
      network
        .peerClient(from)
        .changes({ address: '10.0.0.3', port: 7771 }, { origin: 'c', since: 0, incarnation: 1 }, 1000);
    const answers = [ask('10.0.0.1'), ask('10.0.0.2')];
    await clock.advance(10);
    const [a, b] = await Promise.all(answers);
    assert.equal(a, b, 'the same answer either way');
    assert.is(a === b, share, share ? 'one decoded copy' : 'a copy each');
    assert.is(Object.isFrozen(a), share);
  }
});

test('the scale harness at 6 agents: idle traffic adds up, a crash and a change reach everyone', async () => {
  const r = await runScale({ size: 6, protocol: 'default', idleSeconds: 4, lossSeconds: 4, changes: 2 });
  const idle = r.idle;
  assert.ok(idle.siteMulticastPerSecond > 0, 'agents multicast while idle');
  // Every multicast reaches the 5 others: what each receives is about 5/6 of what the site sends.
  const expected = (idle.siteMulticastBytesPerSecond * 5) / 6;
  assert.ok(
    Math.abs(idle.agentReceivedBytesPerSecond.mean - expected) <= expected * 0.1 + 1,
    `received ${idle.agentReceivedBytesPerSecond.mean} B/s per agent, expected about ${expected}`,
  );
  assert.ok(
    Math.abs(
      idle.agentSentBytesPerSecond.mean * 6 -
        idle.siteMulticastBytesPerSecond -
        idle.siteUnicastBytesPerSecond -
        idle.requestBytesPerSecond,
    ) < 1,
    'what the agents send is what the medium carries',
  );
  // By kind, on the wire (idle17): an idle site's datagrams are heartbeats, and the kinds add up to the whole.
  const kinds = idle.agentReceivedByKind!;
  assert.ok(kinds['multicast heartbeat'] > 0, JSON.stringify(kinds));
  const total = Object.values(kinds).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - idle.agentWireReceivedBytesPerSecond!.mean) < 0.01, `${total} B/s by kind`);
  assert.is(r.coldStart.incomplete, 0);
  assert.is(r.crash.missed, 0);
  assert.is(r.crash.samples, 5);
  assert.is(r.vanish.missed, 0);
  assert.is(r.change.clean.undelivered, 0);
  assert.ok(r.newcomer.ms !== null, 'the newcomer completes');
});

test.run();
