import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { fnv1a32, incarnationTag, MessageType } from '../../src/protocol/messages.js';
import type { DatagramTransport } from '../../src/transport/transport.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * The ring of issue 18 on an open (unkeyed) site: anyone may send a heartbeat under any name, and such an
 * agent stays unverified until it answers at its endpoint. Names are cheap to choose so that their hash
 * falls right after a victim's on the ring, where its monitors are.
 */
const AGENTS = 40;
const ATTACKER = '10.0.0.200';

/** Records every unicast datagram each agent sends: where its liveness heartbeats go. */
function recordingSite(seed: number, unicast: Map<string, Set<string>>): SimSite {
  const transport = (address: string, inner: DatagramTransport): DatagramTransport => ({
    send: (data) => inner.send(data),
    sendTo: (data, to) => {
      if (!unicast.has(address)) unicast.set(address, new Set());
      unicast.get(address)!.add(to.address);
      inner.sendTo(data, to);
    },
    start: (handler) => inner.start(handler),
    stop: () => inner.stop(),
  });
  return new SimSite(seed, {}, 1000, undefined, {
    logLevel: 'silent',
    settleTurns: 1,
    wrap: { transport, peers: (_a, p) => p, service: (_a, s) => s },
  });
}

/** An open site of AGENTS agents, settled. */
async function openSite(seed: number, unicast: Map<string, Set<string>>): Promise<SimSite> {
  const site = recordingSite(seed, unicast);
  for (let i = 0; i < AGENTS; i++) {
    await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    await site.clock.advance(5);
  }
  await site.clock.advance(15_000);
  return site;
}

/** Names whose hash lies between `victim`'s and the next real agent's on the ring: its monitors-to-be. */
function namesAfter(victim: string, real: string[], count: number): string[] {
  const h = fnv1a32(victim);
  const next = Math.min(
    ...real
      .map(fnv1a32)
      .map((x) => (x - h + 2 ** 32) % 2 ** 32)
      .filter((d) => d > 0),
  );
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const d = (fnv1a32(`fake-${i}`) - h + 2 ** 32) % 2 ** 32;
    if (d > 0 && d < next) out.push(`fake-${i}`);
  }
  return out;
}

function heartbeat(name: string): Buffer {
  const msg = { type: MessageType.heartbeat, site: 'sim', name, incarnation: 1, version: 0, peerPort: 7771, hints: [] };
  return encodeMessage(msg).bytes;
}

test('forged names placed after an agent on the ring neither draw its unicast nor hide its crash', async () => {
  const unicast = new Map<string, Set<string>>();
  const site = await openSite(1811, unicast);
  const victim = 'agent-3';
  const fakes = namesAfter(
    victim,
    [...site.agents.keys()].filter((n) => n !== victim),
    3,
  );
  unicast.clear();
  // More made-up names stretch everyone's interval: the ring and monitors' unicast heartbeats come into play.
  const fillers = Array.from({ length: 60 }, (_, i) => `filler-${i}`);
  const forge = () => [...fakes, ...fillers].forEach((n) => site.network.inject(ATTACKER, heartbeat(n)));
  for (let t = 0; t < 5000; t += 300) {
    forge();
    await site.clock.advance(300);
  }
  const reflected = [...unicast.entries()].filter(([, to]) => to.has(ATTACKER)).map(([from]) => from);
  assert.equal(reflected, [], 'no agent sends its liveness heartbeats to where forged names were heard');

  await site.crash(victim);
  let t = 0;
  const lostEverywhere = () =>
    site.running().every((a) => a.name === victim || a.agent.directory.held(victim)?.state !== 'alive');
  while (!lostEverywhere() && t < 20_000) {
    forge();
    await site.clock.advance(100);
    t += 100;
  }
  assert.ok(t <= 4000, `the crash was lost everywhere after ${t} ms, not within 3.5 s (+ a margin)`);
  await site.stopAll();
});

/** Multicast datagrams the real agents sent over `ms`, with `forge` run every 300 ms. */
async function multicastOver(site: SimSite, ms: number, forge: () => void): Promise<number> {
  const real = new Set(site.running().map((a) => a.address));
  let sent = 0;
  site.network.onEvent = (e) => {
    if (e.type === 'datagram' && e.kind === undefined && real.has(e.from) && e.to === ATTACKER) sent++;
  };
  for (let t = 0; t < ms; t += 300) {
    forge();
    await site.clock.advance(300);
  }
  site.network.onEvent = undefined;
  return sent;
}

test("made-up names do not stretch the real agents' heartbeat interval", async () => {
  const site = await openSite(1812, new Map());
  // The attacker's own socket hears the site's multicast: the count of real heartbeats, as on a LAN.
  const listener = site.network.datagramTransport(ATTACKER);
  await listener.start(() => {});
  const before = await multicastOver(site, 10_000, () => {});
  const fillers = Array.from({ length: 120 }, (_, i) => `filler-${i}`);
  await multicastOver(site, 3000, () => fillers.forEach((n) => site.network.inject(ATTACKER, heartbeat(n))));
  const during = await multicastOver(site, 10_000, () =>
    fillers.forEach((n) => site.network.inject(ATTACKER, heartbeat(n))),
  );
  assert.ok(during >= 0.8 * before, `${during} heartbeats in 10 s under forgery, ${before} before`);
  await listener.stop();
  await site.stopAll();
});

/** A lost notice naming `subject`'s current life, under `reporter`'s name (made up, or a real agent's). */
function notice(site: SimSite, reporter: string, subject: string): Buffer {
  const tag = incarnationTag(site.agents.get(subject)!.incarnation);
  const hints = [{ nameHash: fnv1a32(subject), incarnationTag: tag, version: 1 }];
  const incarnation = site.agents.get(reporter)?.incarnation ?? 1;
  return encodeMessage({
    type: MessageType.notice,
    site: 'sim',
    name: reporter,
    incarnation,
    version: 0,
    peerPort: 7771,
    hints,
  }).bytes;
}

test("a forged lost notice draws no probes at the named agent: only its monitors' word counts", async () => {
  const site = await openSite(1813, new Map());
  const subject = site.agents.get('agent-3')!;
  let probes = 0;
  site.network.onEvent = (e) => {
    if (e.type === 'rpc' && e.route === 'hello' && e.to.startsWith(`${subject.address}:`)) probes++;
  };
  // Under a made-up name, and under a real agent's name from the forger's own address.
  site.network.inject(ATTACKER, notice(site, 'fake-reporter', 'agent-3'));
  await site.clock.advance(1100);
  site.network.inject(ATTACKER, notice(site, 'agent-8', 'agent-3'));
  await site.clock.advance(500);
  site.network.onEvent = undefined;
  assert.ok(probes <= 2, `one datagram drew ${probes} probes at the named agent`);
  await site.stopAll();
});

test("a heartbeat under a real agent's name from another address redirects none of its monitors' traffic", async () => {
  const unicast = new Map<string, Set<string>>();
  const site = recordingSite(1814, unicast);
  for (let i = 0; i < 60; i++) {
    await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    await site.clock.advance(5);
  }
  await site.clock.advance(15_000);
  unicast.clear();
  // Every agent's name, from the forger's own address: each is some agents' monitor.
  const names = [...site.agents.values()];
  for (let t = 0; t < 5000; t += 500) {
    for (const a of names) {
      const msg = { type: MessageType.heartbeat, site: 'sim', name: a.name, incarnation: a.incarnation, version: 0 };
      site.network.inject(ATTACKER, encodeMessage({ ...msg, peerPort: 7771, hints: [], intervalMs: 3_600_000 }).bytes);
    }
    await site.clock.advance(500);
  }
  const redirected = [...unicast.entries()].filter(([, to]) => to.has(ATTACKER)).map(([from]) => from);
  assert.equal(redirected, [], 'no unicast heartbeat goes to the forger');
  await site.stopAll();
});

test.run();
