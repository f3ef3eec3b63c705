import dnsPacket from 'dns-packet';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Browser } from '../src/mdns/browser.js';
import { claimLabel, newClaim, type Claim } from '../src/mdns/claims.js';
import type { DecodedPacket } from '../src/mdns/mdns-socket.js';
import { compareProbeSets, hostRecord, OTHER_TTL, HOST_TTL } from '../src/mdns/records.js';
import { Responder } from '../src/mdns/responder.js';
import { FakeClock } from '../src/util/clock.js';

/** Responders on one in-memory link: every packet, encoded and decoded by dns-packet, reaches every other. */
function link(clock: FakeClock, hosts: { name: string; address: string; instance: string }[]) {
  const sent: { from: number; packet: DecodedPacket }[] = [];
  const renames: string[][] = hosts.map(() => []);
  const responders: Responder[] = [];
  hosts.forEach((h, i) => {
    const r = new Responder(
      {
        address: h.address,
        clock,
        random: () => 0.5, // the same start-up delay for both: the probes really are simultaneous
        send: (p) => {
          const packet = dnsPacket.decode(dnsPacket.encode(p as dnsPacket.Packet));
          sent.push({ from: i, packet });
          for (const [j, other] of responders.entries()) if (j !== i) other.onPacket(packet);
        },
        onRenamed: (c: Claim) => renames[i].push(claimLabel(c)),
      },
      newClaim('host', 'host', h.name),
    );
    r.setService(
      newClaim('agent', 'service', h.instance, { instance: h.instance, type: '_herald._tcp', port: 7000 + i, txt: {} }),
    );
    responders.push(r);
  });
  return { responders, renames, sent };
}

test('simultaneous probes for one host label: the later address wins, the other renames, every run alike', async () => {
  for (let run = 0; run < 3; run++) {
    const clock = new FakeClock();
    const { responders, renames } = link(clock, [
      { name: 'dup-herald', address: '10.0.0.9', instance: 'x@s1' },
      { name: 'dup-herald', address: '10.0.0.10', instance: 'x@s2' },
    ]);
    for (const r of responders) r.start();
    await clock.advance(10_000);
    // 10.0.0.10 > 10.0.0.9 as rdata bytes (10 > 9 in the last octet): it keeps the name (RFC 6762 §8.2).
    assert.equal(renames, [['dup-herald-2'], []]);
    assert.equal(
      responders.map((r) => [claimLabel(r.host), r.host.state]),
      [
        ['dup-herald-2', 'announced'],
        ['dup-herald', 'announced'],
      ],
    );
  }
});

test('an announced name taken later is defended: the newcomer renames, not the holder', async () => {
  const clock = new FakeClock();
  const { responders, renames } = link(clock, [
    { name: 'late-herald', address: '10.0.0.200', instance: 'a@s' },
    { name: 'late-herald', address: '10.0.0.1', instance: 'b@s' },
  ]);
  responders[0].start();
  await clock.advance(5000);
  responders[1].start();
  await clock.advance(5000);
  assert.equal(renames, [[], ['late-herald-2']]);
});

test('TTLs: 120 s for records tied to a host name, 4,500 s for the others; goodbyes only for our own', async () => {
  const clock = new FakeClock();
  const { responders, sent } = link(clock, [{ name: 'ttl-herald', address: '10.0.0.5', instance: 't@s' }]);
  responders[0].start();
  await clock.advance(5000);
  const answers = (p: DecodedPacket) => (p.answers ?? []) as { name: string; type: string; ttl?: number }[];
  const announced = sent.flatMap((s) => (s.packet.type === 'response' ? answers(s.packet) : []));
  const ttl = (type: string) => new Set(announced.filter((a) => a.type === type).map((a) => a.ttl));
  assert.equal([...ttl('SRV')], [HOST_TTL]);
  assert.equal([...ttl('A')], [HOST_TTL]);
  assert.equal([...ttl('PTR')], [OTHER_TTL]);
  assert.equal([...ttl('TXT')], [OTHER_TTL]);
  sent.length = 0;
  responders[0].stop(true);
  const goodbye = sent.flatMap((s) => answers(s.packet));
  assert.ok(goodbye.every((a) => a.ttl === 0));
  assert.equal(goodbye.map((a) => a.name).sort(), [
    '_herald._tcp.local',
    't@s._herald._tcp.local',
    't@s._herald._tcp.local',
    'ttl-herald.local',
  ]);
});

test('a host label another responder publishes with the same data is shared, and not withdrawn on stop', async () => {
  const clock = new FakeClock();
  const { responders, renames, sent } = link(clock, [
    { name: 'same-herald', address: '10.0.0.4', instance: 'same@s1' },
    { name: 'same-herald', address: '10.0.0.4', instance: 'same@s2' },
  ]);
  for (const r of responders) r.start();
  await clock.advance(5000);
  assert.equal(renames, [[], []], 'identical data is no conflict (RFC 6762 §8.2)');
  sent.length = 0;
  responders[0].stop(true);
  const names = sent.flatMap((s) => (s.packet.answers ?? []).map((a) => a.name));
  assert.ok(names.includes('same@s1._herald._tcp.local'), 'its own instance withdrawn');
  assert.not.ok(names.includes('same-herald.local'), 'the shared host label kept');
});

test('the tie-break compares rdata as unsigned bytes', () => {
  const a = [hostRecord('h', '10.0.0.9')];
  const b = [hostRecord('h', '10.0.0.10')];
  assert.ok(compareProbeSets(a, b) < 0);
  assert.ok(compareProbeSets(b, a) > 0);
  assert.is(compareProbeSets(a, a), 0);
});

test('known-answer suppression: a query listing our record with over half its TTL left draws nothing', async () => {
  const clock = new FakeClock();
  const { responders, sent } = link(clock, [{ name: 'ka-herald', address: '10.0.0.7', instance: 'k@s' }]);
  responders[0].start();
  await clock.advance(5000);
  const ask = (ttl: number) => {
    sent.length = 0;
    const query = {
      type: 'query',
      questions: [{ name: '_herald._tcp.local', type: 'PTR' }],
      answers: [{ name: '_herald._tcp.local', type: 'PTR', class: 'IN', ttl, data: 'k@s._herald._tcp.local' }],
    } as dnsPacket.Packet;
    responders[0].onPacket(dnsPacket.decode(dnsPacket.encode(query)));
    return sent.length;
  };
  assert.is(ask(OTHER_TTL), 0, 'known with its whole TTL: no answer');
  await clock.advance(1100);
  assert.is(ask(OTHER_TTL / 2 - 1), 1, 'known with less than half its TTL: answered (RFC 6762 §7.1)');
});

test('duplicate-question suppression: a browser that hears an equal query does not ask again', async () => {
  const { sent } = await twoBrowsers(false);
  assert.ok(sent.length >= 6, `queries at doubling intervals (${sent.length})`);
  assert.ok(
    sent.every((i) => i === 0),
    `only the first browser asked: ${sent.join(',')}`,
  );
});

test('a browser that lacks an answer the other lists still asks (RFC 6762 §7.3)', async () => {
  const { sent } = await twoBrowsers(true);
  assert.ok(sent.includes(1), `the second browser asked too: ${sent.join(',')}`);
});

/** Two browsers that hear each other's queries; with `firstKnowsOne`, the first holds an instance. */
async function twoBrowsers(firstKnowsOne: boolean) {
  const clock = new FakeClock();
  const sent: number[] = [];
  const browsers = [0, 1].map(
    (i) =>
      new Browser({
        type: '_herald._tcp.local',
        clock,
        random: () => (i === 0 ? 0 : 0.9), // browser 0 always asks first
        send: (p) => {
          sent.push(i);
          const packet = dnsPacket.decode(dnsPacket.encode(p as dnsPacket.Packet));
          browsers[1 - i].onPacket(packet, '10.0.0.1');
        },
        onAdvert: () => {},
        onGoodbye: () => {},
        onDrop: () => {},
      }),
  );
  if (firstKnowsOne) {
    const advert: dnsPacket.Packet = {
      type: 'response',
      answers: [{ name: '_herald._tcp.local', type: 'PTR', ttl: OTHER_TTL, data: 'z@s._herald._tcp.local' }],
    };
    browsers[0].onPacket(dnsPacket.decode(dnsPacket.encode(advert)), '10.0.0.9');
  }
  for (const b of browsers) b.start();
  await clock.advance(120_000);
  return { sent };
}

test.run();
