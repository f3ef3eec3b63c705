import dnsPacket from 'dns-packet';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Browser } from '../src/mdns/browser.js';
import { newClaim } from '../src/mdns/claims.js';
import type { DecodedPacket } from '../src/mdns/mdns-socket.js';
import { Responder } from '../src/mdns/responder.js';
import { FakeClock } from '../src/util/clock.js';
import { seededRandom } from '../src/util/random.js';

/** Mutated mDNS packets (whatever dns-packet still decodes) into the responder and the browser: no throw. */
test('mutated mDNS packets are handled without an exception', async () => {
  const clock = new FakeClock();
  const random = seededRandom(Number(process.env.HERALD_FUZZ_SEED ?? 7));
  const responder = new Responder(
    { address: '10.0.0.1', clock, random, send: () => {}, onRenamed: () => {} },
    newClaim('host', 'host', 'f-herald'),
  );
  responder.setService(
    newClaim('agent', 'service', 'f@s', { instance: 'f@s', type: '_herald._tcp', port: 1, txt: { txtvers: '1' } }),
  );
  responder.start();
  await clock.advance(3000);
  const adverts: string[] = [];
  const browser = new Browser({
    type: '_herald._tcp.local',
    clock,
    random,
    send: () => {},
    onAdvert: (i) => adverts.push(i),
    onGoodbye: () => {},
    onDrop: () => {},
  });
  browser.start();
  const seeds: dnsPacket.Packet[] = [
    {
      type: 'response',
      answers: [
        { name: '_herald._tcp.local', type: 'PTR', ttl: 4500, data: 'g@s._herald._tcp.local' },
        { name: 'g@s._herald._tcp.local', type: 'SRV', ttl: 120, data: { port: 2, target: 'g-herald.local' } },
        { name: 'g@s._herald._tcp.local', type: 'TXT', ttl: 4500, data: ['txtvers=1', 'name=g', 'ver=1'] },
        { name: 'f-herald.local', type: 'A', ttl: 120, data: '10.0.0.2' },
      ],
    },
    {
      type: 'query',
      questions: [{ name: 'f@s._herald._tcp.local', type: 'SRV' }],
      authorities: [{ name: 'f-herald.local', type: 'A', ttl: 120, data: '10.0.0.3' }],
    },
    { type: 'query', questions: [{ name: '_herald._tcp.local', type: 'PTR' }] },
  ];
  let decoded = 0;
  for (let i = 0; i < 5000; i++) {
    const bytes = dnsPacket.encode(seeds[i % seeds.length]);
    for (let m = 1 + Math.floor(random() * 4); m > 0; m--) bytes[Math.floor(random() * bytes.length)] = random() * 256;
    let packet: DecodedPacket;
    try {
      packet = dnsPacket.decode(bytes);
    } catch {
      continue; // refused by the codec: what the socket counts as malformed
    }
    decoded += 1;
    responder.onPacket(packet);
    browser.onPacket(packet, '10.0.0.2');
    if (i % 100 === 0) await clock.advance(300);
  }
  assert.ok(decoded > 1000, `${decoded} mutated packets decoded and handled`);
});

test.run();
