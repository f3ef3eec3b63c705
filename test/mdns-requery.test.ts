import dnsPacket from 'dns-packet';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Browser } from '../src/mdns/browser.js';
import { newClaim } from '../src/mdns/claims.js';
import type { DecodedPacket } from '../src/mdns/mdns-socket.js';
import { Responder } from '../src/mdns/responder.js';
import { heraldTxt } from '../src/mdns/txt.js';
import { FakeClock } from '../src/util/clock.js';
import { seededRandom } from '../src/util/random.js';

type Sent = Parameters<ConstructorParameters<typeof Responder>[0]['send']>[0];

/** Through the wire format, as the socket hands packets on. */
function wire(packet: unknown): DecodedPacket {
  return dnsPacket.decode(dnsPacket.encode(packet as dnsPacket.Packet));
}

/** agent-1's responder at `address`, in life `incarnation`, announced; what it sends is kept in `out`. */
async function responderAt(clock: FakeClock, address: string, incarnation: number, out: Sent[]): Promise<Responder> {
  const r = new Responder(
    { address, clock, random: seededRandom(incarnation), send: (p) => out.push(p), onRenamed: () => {} },
    newClaim('host', 'host', 'agent-1-herald'),
  );
  const txt = heraldTxt({ name: 'agent-1', site: 's', incarnation, version: 1, path: '/v1/peer', format: 1 });
  const spec = { instance: 'agent-1@s', type: '_herald._tcp', port: 7000, txt };
  r.setService(newClaim('agent', 'service', 'agent-1@s', spec));
  r.start();
  await clock.advance(5000);
  return r;
}

function browserOf(clock: FakeClock, queries: Sent[], adverts: string[], refreshes: string[]): Browser {
  const browser = new Browser({
    type: '_herald._tcp.local',
    clock,
    random: seededRandom(1),
    send: (p) => queries.push(p),
    onAdvert: (_i, txt, _port, from) => adverts.push(`${from} inc ${txt.inc}`),
    onRefresh: (_i, txt, _port, from) => refreshes.push(`${from} inc ${txt.inc}`),
    onGoodbye: () => {},
    onDrop: () => {},
  });
  browser.start();
  return browser;
}

test('a failed probe re-asks the SRV/TXT of that instance (RFC 6762 §10.4): a moved responder answers', async () => {
  const clock = new FakeClock();
  const [first, moved, queries] = [[], [], []] as Sent[][];
  const adverts: string[] = [];
  const refreshes: string[] = [];
  const browser = browserOf(clock, queries, adverts, refreshes);
  const old = await responderAt(clock, '10.0.0.2', 1, first);
  for (const p of first) browser.onPacket(wire(p), '10.0.0.2');
  assert.equal(adverts, ['10.0.0.2 inc 1']);
  assert.ok(refreshes.length > 0, 'the second announcement, unchanged, is a refresh');
  old.stop(false);

  // A new life at a new address; every announcement of it is lost.
  const now = await responderAt(clock, '10.0.0.3', 2, moved);
  moved.length = 0;
  // The browser's continuous PTR query lists the instance as known: the responder stays quiet (§7.1).
  const ptr = queries.filter((q) => q.type === 'query').at(-1)!;
  now.onPacket(wire(ptr));
  assert.is(moved.length, 0, 'a known answer suppresses the reply to the PTR query');

  queries.length = 0;
  browser.requery((txt) => txt.name === 'agent-1');
  browser.requery((txt) => txt.name === 'agent-1');
  assert.is(queries.length, 1, 'at most one re-query a second per instance');
  const asked = wire(queries[0]).questions!.map((q) => `${q.name} ${q.type}`);
  assert.equal(asked, ['agent-1@s._herald._tcp.local SRV', 'agent-1@s._herald._tcp.local TXT']);
  now.onPacket(wire(queries[0]));
  assert.ok(moved.length > 0, 'the responder answers the SRV/TXT question');
  for (const p of moved) browser.onPacket(wire(p), '10.0.0.3');
  assert.equal(adverts, ['10.0.0.2 inc 1', '10.0.0.3 inc 2']);

  const requeries = () => queries.filter((q) => q.questions?.length === 2).length;
  const requery = async (after: number) => {
    await clock.advance(after);
    browser.requery((txt) => txt.name === 'agent-1');
    return requeries();
  };
  assert.is(await requery(0), 2, 'a new report resets the backoff');
  assert.is(await requery(0), 2);
  assert.is(await requery(1100), 3, 'a second later, again');
  assert.is(await requery(1500), 3, 'then the gap doubles');
  assert.is(await requery(600), 4);
  browser.stop();
  now.stop(false);
});

test.run();
