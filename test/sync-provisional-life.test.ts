import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../src/protocol/codec.js';
import { MessageType } from '../src/protocol/messages.js';
import { MdnsSite } from './helpers/mdns-sim.js';
import { device, SimSite, type SimAgent } from './helpers/sim.js';

/**
 * An open site (no key) on the in-memory network: a newer life named by an unsigned datagram from the
 * agent's own address is provisional until its endpoint answers (src/sync/provisional-lives.ts). A true
 * restart in place must still be heard at once; a forged one is refuted and the real life kept whole.
 */
const VICTIM = 'agent-2';

async function openSite(seed: number): Promise<SimSite> {
  const s = new SimSite(seed, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  for (let i = 0; i < 5; i++) await s.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
  assert.ok((await s.runUntilConverged(10_000)) >= 0, 'converged');
  return s;
}

function others(s: SimSite): SimAgent[] {
  return s.running().filter((a) => a.name !== VICTIM);
}

/** Fake-clock ms until every other agent holds the victim's life `incarnation` with device `id`. */
async function untilAllHold(s: SimSite, incarnation: number, id: string, maxMs: number): Promise<number> {
  const holds = () =>
    others(s).every((a) => {
      const held = a.agent.directory.held(VICTIM);
      return held?.state === 'alive' && held.incarnation === incarnation && a.agent.directory.device(VICTIM, id);
    });
  for (let t = 0; t <= maxMs; t += 1) {
    if (holds()) return t;
    await s.clock.advance(1);
  }
  return -1;
}

function total(s: SimSite, result: string): number {
  return others(s).reduce((n, a) => n + a.agent.metrics.provisionalLives.get({ result }), 0);
}

test('open: a restart in place is heard at once, its new devices everywhere within a round trip', async () => {
  const s = await openSite(2101);
  try {
    await s.crash(VICTIM);
    const restarted = await s.start(VICTIM, [device('d-2-new')], { index: 3 });
    const took = await untilAllHold(s, restarted.incarnation, 'd-2-new', 1000);
    console.log(`  a restart in place: its new set on every agent ${took} ms after it started`);
    // Before provisional lives its announcement's delta was applied as it arrived (0 ms on this clock); now
    // the catch-up that fetches it from the endpoint confirms the life: one round trip (1 ms here).
    assert.ok(took >= 0 && took <= 5, `the new set everywhere within 5 ms (${took} ms)`);
    assert.is(total(s, 'confirmed'), 4, 'each of the 4 others confirmed the life at its endpoint');
    assert.is(total(s, 'refuted'), 0, 'nobody refuted it');
  } finally {
    await s.stopAll();
  }
});

test("open: a newer life forged from the agent's own address is refuted; its data kept, its changes arrive", async () => {
  const s = await openSite(2102);
  try {
    const victim = s.agents.get(VICTIM)!;
    const before = others(s).map((a) => a.agent.directory.held(VICTIM)!.version);
    const forged = encodeMessage({
      type: MessageType.heartbeat,
      site: 'sim',
      name: VICTIM,
      incarnation: victim.incarnation + 1000,
      version: 1,
      peerPort: 7771,
      hints: [],
    }).bytes;
    s.network.inject(victim.address, forged);
    await s.clock.advance(10);
    assert.is(total(s, 'taken'), 4, 'taken provisionally by the 4 others');
    assert.is(total(s, 'refuted'), 4, 'and refuted at its endpoint by each');
    others(s).forEach((a, i) => {
      const held = a.agent.directory.held(VICTIM)!;
      assert.is(held.incarnation, victim.incarnation, `${a.name} holds the real life`);
      assert.is(held.version, before[i], `${a.name} holds the version it held`);
      assert.ok(a.agent.directory.device(VICTIM, 'd-2'), `${a.name} holds its device`);
      const warned = a.logs.filter((l) => String(l.msg).includes('was refuted at its endpoint'));
      assert.ok(warned.length <= 1, `${a.name} logged it at most once (${warned.length})`);
    });
    await s.change(VICTIM, [device('d-2'), device('d-2b')]);
    assert.ok((await untilAllHold(s, victim.incarnation, 'd-2b', 100)) >= 0, 'its change everywhere within 100 ms');
    // Repeated, the forgery is only probed now (at most once a period), never taken.
    for (let i = 0; i < 5; i++) {
      s.network.inject(victim.address, forged);
      await s.clock.advance(200);
    }
    assert.is(total(s, 'taken'), 4, 'not taken again after the refutation');
    await s.change(VICTIM, [device('d-2'), device('d-2c')]);
    assert.ok((await untilAllHold(s, victim.incarnation, 'd-2c', 100)) >= 0, 'a later change everywhere too');
  } finally {
    await s.stopAll();
  }
});

test("open: an old life's answer in flight across a real restart in place does not refute the new life", async () => {
  const s = await openSite(2103);
  try {
    const viewer = s.agents.get('agent-0')!;
    const victim = s.agents.get(VICTIM)!;
    // The viewer hears nothing, so it probes; its probes of the victim are answered 300 ms late, and its
    // catch-ups 500 ms late: the old life's answer arrives after the new life is heard, before its catch-up.
    s.network.links.set(viewer.address, { loss: 1 });
    let probedAt = -1;
    s.network.rpcFaults = (from, to, route) => {
      if (from !== viewer.address || to !== victim.address) return undefined;
      if (route === 'hello' && probedAt < 0) probedAt = s.clock.monotonic();
      return { kind: 'late', delayMs: route === 'hello' ? 300 : 500 };
    };
    while (probedAt < 0) await s.clock.advance(10);
    await s.clock.advance(50);
    await s.crash(VICTIM);
    s.network.links.delete(viewer.address);
    const restarted = await s.start(VICTIM, [device('d-2-new')], { index: 3 });
    await s.clock.advance(400); // the old life's answer has arrived; the catch-up's is 100 ms away
    assert.is(viewer.agent.metrics.provisionalLives.get({ result: 'refuted' }), 0, 'the late answer refuted nothing');
    await s.clock.advance(200);
    const held = viewer.agent.directory.held(VICTIM);
    assert.is(held?.incarnation, restarted.incarnation, 'the viewer holds the new life');
    assert.ok(viewer.agent.directory.device(VICTIM, 'd-2-new'), 'with its new device');
    assert.is(viewer.agent.metrics.provisionalLives.get({ result: 'confirmed' }), 1, 'confirmed by the catch-up');
  } finally {
    s.network.rpcFaults = undefined;
    await s.stopAll();
  }
});

test('open: a goodbye forged from any address is undone once the agent speaks at its endpoint after it', async () => {
  const s = await openSite(2104);
  try {
    const victim = s.agents.get(VICTIM)!;
    const goodbye = encodeMessage({
      type: MessageType.goodbye,
      site: 'sim',
      name: VICTIM,
      incarnation: victim.incarnation,
      version: 1,
      peerPort: 7771,
      hints: [],
    }).bytes;
    s.network.inject('10.0.9.9', goodbye);
    await s.clock.advance(100);
    const left = others(s).filter((a) => a.agent.directory.held(VICTIM)?.state === 'left');
    assert.is(left.length, 4, 'the forged goodbye was heard (an open site believes a goodbye at once)');
    await s.clock.advance(5000);
    for (const a of others(s)) assert.is(a.agent.directory.held(VICTIM)?.state, 'alive', `${a.name}: alive again`);
    await s.change(VICTIM, [device('d-2'), device('d-2b')]);
    assert.ok((await untilAllHold(s, victim.incarnation, 'd-2b', 100)) >= 0, 'its change everywhere');
    // A real goodbye stays: nothing speaks at the endpoint after it.
    await s.stop(VICTIM);
    await s.clock.advance(10_000);
    for (const a of others(s)) assert.is(a.agent.directory.held(VICTIM)?.state, 'left', `${a.name}: left`);
  } finally {
    await s.stopAll();
  }
});

test('open: a next version forged from another address is fetched from the agent, not applied', async () => {
  const s = await openSite(2105);
  try {
    const victim = s.agents.get(VICTIM)!;
    const delta = { version: 2, added: [device('made-up')], updated: [], removed: [] };
    const forged = { type: MessageType.announce, site: 'sim', name: VICTIM, version: 2, peerPort: 7771, hints: [] };
    s.network.inject('10.0.9.9', encodeMessage({ ...forged, incarnation: victim.incarnation, delta }).bytes);
    await s.clock.advance(100);
    for (const a of others(s)) assert.not.ok(a.agent.directory.device(VICTIM, 'made-up'), `${a.name}: not applied`);
    await s.change(VICTIM, [device('d-2'), device('d-2b')]);
    assert.ok((await untilAllHold(s, victim.incarnation, 'd-2b', 100)) >= 0, 'its real version 2 everywhere');
    assert.ok(s.converged(), 'converged');
  } finally {
    await s.stopAll();
  }
});

test("open, mDNS alone: a forged advert of a newer life at the agent's address is refuted; a restart is taken", async () => {
  const site = await MdnsSite.pair(5);
  try {
    await site.clock.advance(1000);
    const [a, b] = [site.agents.get('a')!, site.agents.get('b')!];
    const real = b.agent.directory.held('a')!.incarnation;
    const forged = { name: 'a', site: 'sim', incarnation: real + 1000, version: 3, address: a.address, peerPort: 7771 };
    b.ctx!.sync.observe(forged, 'mdns');
    await site.clock.advance(100);
    assert.is(b.agent.directory.held('a')!.incarnation, real, "b holds a's real life");
    assert.is(b.agent.metrics.provisionalLives.get({ result: 'refuted' }), 1, 'refuted at its endpoint');
    await site.change('a', [device('a-1'), device('a-2')]);
    site.advertise('a');
    await site.clock.advance(100);
    assert.is(b.agent.directory.devices({ agent: 'a' }).length, 2, "a's change arrived");
    await site.clock.advance(60_000); // past the hold that follows a refutation
    await a.agent.stop({ goodbye: false });
    await site.start('a', 1, [device('a-3')]);
    site.advertise('a');
    await site.clock.advance(20); // a catch-up's round trip is 5 ms here
    assert.ok(b.agent.directory.device('a', 'a-3'), "the restarted a's set, from its first advert");
    assert.is(b.agent.metrics.provisionalLives.get({ result: 'confirmed' }), 1, 'confirmed at its endpoint');
  } finally {
    await site.stopAll();
  }
});

test.run();
