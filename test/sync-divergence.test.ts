import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Agent } from '../src/agent/agent.js';
import { toDevice } from '../src/directory/directory.js';
import { canonicalJson, PROFILE_LIMITS, type Device } from '../src/profiles/model.js';
import { MdnsSite } from './helpers/mdns-sim.js';
import { device, noisyDevices, randomDevices, SimSite } from './helpers/sim.js';

/**
 * The four classes of issue 12, each as a small deterministic scenario: every one leaves a host wrong
 * for good on the code before the fix, not just late.
 */

function viewOf(viewer: Agent, origin: string): string {
  return canonicalJson(viewer.directory.devices({ agent: origin }).map(toDevice));
}

function assertSame(site: SimSite, viewer: string, origin: string, label: string): void {
  const o = site.agents.get(origin)!.agent;
  const v = site.agents.get(viewer)!.agent;
  assert.equal(v.directory.held(origin)?.incarnation, o.directory.held(origin)?.incarnation, `${label}: incarnation`);
  assert.equal(v.directory.held(origin)?.version, o.directory.held(origin)?.version, `${label}: version`);
  const [seen, truth] = [viewOf(v, origin), viewOf(o, origin)];
  const ids = (a: Agent) => a.directory.devices({ agent: origin }).map((d) => d.id);
  assert.ok(seen === truth, `${label}: devices ${ids(v).join(',').slice(0, 200)} vs ${ids(o).join(',').slice(0, 200)}`);
  assert.is(v.directory.held(origin)?.state, 'alive', `${label}: state`);
}

test('class 1: a delta buffered from an old life is never applied to the new one', async () => {
  const site = new SimSite(101);
  await site.start('a', [device('a-1')]);
  await site.start('b', []);
  await site.clock.advance(2000);
  site.network.loss = 1; // b misses version 2 ...
  await site.change('a', [device('a-1'), device('a-2')]);
  site.network.loss = 0;
  await site.change('a', [device('a-1'), device('a-2'), device('old-life-3')]); // ... but gets 3 and 4
  await site.change('a', [device('a-1'), device('a-2'), device('old-life-3'), device('old-life-4')]);
  await site.clock.advance(1);
  await site.crash('a'); // before b's catch-up could reach it
  await site.clock.advance(50);
  await site.start('a', [device('a-1')]);
  await site.clock.advance(50);
  await site.change('a', [device('a-1'), device('new-2')]);
  await site.change('a', [device('a-1'), device('new-2'), device('new-3')]);
  await site.clock.advance(5000);
  assertSame(site, 'b', 'a', 'after the restart');
  await site.stopAll();
});

test('class 2: a goodbye hint of an old life does not mark the new life left', async () => {
  const site = new SimSite(102, { rpcLatencyMs: 1800 });
  const big = noisyDevices(site.random, 60); // too large for a datagram: a restart is caught up over TCP
  await site.start('a', big);
  await site.start('b', []);
  await site.start('c', []);
  await site.clock.advance(4000);
  const [a, b, c] = ['a', 'b', 'c'].map((n) => site.agents.get(n)!.address);
  site.network.partition([[b], [a, c]]);
  await site.stop('a'); // b misses both goodbyes; c repeats it as a hint on its heartbeats
  await site.clock.advance(5);
  site.network.partition([
    [b, a],
    [a, c],
  ]);
  await site.start('a', big); // b hears the new life and fetches it ...
  await site.clock.advance(100);
  site.network.heal(); // ... while c's hint of the old life's goodbye reaches it
  await site.clock.advance(10_000);
  assertSame(site, 'b', 'a', 'after the restart');
  assertSame(site, 'c', 'a', 'after the restart');
  await site.stopAll();
});

test('class 3: mDNS only, a slow but working peer endpoint does not make a live peer lost', async () => {
  const site = await MdnsSite.pair(1500); // slower than one heartbeat period, well within the liveness period
  await site.clock.advance(3000);
  assert.is(site.state('b', 'a'), 'alive');
  await site.clock.advance(120_000);
  assert.is(site.state('b', 'a'), 'alive', 'a live peer with a working endpoint stays alive');
});

test('class 3: mDNS only, a peer lost during a partition is alive again once it heals', async () => {
  const site = await MdnsSite.pair(5);
  await site.clock.advance(3000);
  site.network.partition([['10.0.1.1'], ['10.0.1.2']]);
  await site.clock.advance(60_000);
  assert.is(site.state('b', 'a'), 'lost', 'lost while cut off');
  site.network.heal(); // no mDNS change: bonjour reports nothing new
  await site.clock.advance(60_000);
  assert.is(site.state('b', 'a'), 'alive', 'heard again by probing');
});

/** A device as large as the profile rules admit, give or take: what a catch-up must still carry. */
function largeDevice(i: number): Device {
  const text = (n: number, seed: string) => `${seed}-${'x'.repeat(n)}`.slice(0, n);
  return {
    id: `big-${i}`,
    name: text(PROFILE_LIMITS.textLength, `n${i}`),
    model: text(PROFILE_LIMITS.textLength, `m${i}`),
    manufacturer: text(PROFILE_LIMITS.textLength, `f${i}`),
    location: text(PROFILE_LIMITS.textLength, `l${i}`),
    tags: Array.from({ length: PROFILE_LIMITS.tags }, (_, t) => text(PROFILE_LIMITS.tagLength, `t${t}`)),
    names: [],
    capabilities: Array.from({ length: 4 }, (_, c) => ({
      id: `value-${c}`,
      kind: 'property' as const,
      type: 'temperature',
      unit: '°C',
      description: text(PROFILE_LIMITS.descriptionLength, `d${i}-${c}`),
    })),
  };
}

test('class 4: the largest device set the rules admit reaches a newcomer and survives a restart', async () => {
  const site = new SimSite(104);
  const set = Array.from({ length: PROFILE_LIMITS.devicesPerAgent }, (_, i) => largeDevice(i));
  assert.ok(JSON.stringify(set).length > 4 * 1024 * 1024, 'the set is larger than one catch-up answer');
  await site.start('a', set);
  await site.clock.advance(2000);
  await site.start('late', []);
  await site.clock.advance(5000);
  assertSame(site, 'late', 'a', 'newcomer');
  await site.crash('a');
  await site.clock.advance(100);
  await site.start('a', set.slice(1));
  await site.clock.advance(5000);
  assertSame(site, 'late', 'a', 'after the restart');
  await site.stopAll();
});

/** Every running agent holds every running origin at its own (incarnation, version, devices), alive. */
function divergences(site: SimSite): string[] {
  const running = site.running();
  const out: string[] = [];
  for (const o of running) {
    const truth = o.agent.directory.held(o.name)!;
    for (const v of running) {
      const seen = v.agent.directory.held(o.name);
      const same = seen?.incarnation === truth.incarnation && seen.version === truth.version;
      if (v !== o && (!same || seen.state !== 'alive' || viewOf(v.agent, o.name) !== viewOf(o.agent, o.name)))
        out.push(`${v.name} holds ${o.name} at ${JSON.stringify(seen)}, not ${JSON.stringify(truth)}`);
    }
  }
  return out;
}

test('random lives: changes, crashes, stops, restarts (same address or moved), partitions, loss; 40 seeds', async () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rpcLatencyMs = 1 + (seed % 7) * 150; // up to 900 ms: signals arrive while catch-ups are under way
    const site = new SimSite(seed, { loss: (seed % 5) * 0.12, duplicate: 0.05, reorderWindowMs: 30, rpcLatencyMs });
    const r = site.random;
    const names = Array.from({ length: 3 + (seed % 5) }, (_, i) => `n${i}`);
    const set = (n: string) => (r() < 0.2 ? noisyDevices(r, 30 + Math.floor(r() * 40)) : randomDevices(r, n));
    for (const n of names) await site.start(n, set(n));
    for (let step = 0; step < 40; step++) {
      const n = names[Math.floor(r() * names.length)];
      const e = r();
      if (!site.agents.get(n)!.agent.readiness().ready) {
        if (e < 0.5) await site.start(n, set(n));
      } else if (e < 0.5) await site.change(n, set(n));
      else if (e < 0.6) await site.crash(n);
      else if (e < 0.7) await site.stop(n);
      else if (e < 0.75) {
        await site.crash(n);
        await site.clock.advance(r() * 300);
        await site.start(n, set(n));
      } else if (e < 0.78) {
        await site.stop(n);
        await site.start(n, set(n), { index: 50 + step * 8 + names.indexOf(n) });
      } else if (e < 0.88) {
        const all = site.running().map((x) => x.address);
        site.network.partition([all.slice(0, all.length >> 1), all.slice(all.length >> 1)]);
      } else site.network.heal();
      await site.clock.advance(r() * 1500);
    }
    site.network.heal();
    site.network.loss = 0;
    await site.clock.advance(30_000);
    assert.equal(divergences(site), [], `seed ${seed}`);
    await site.stopAll();
  }
});

test.run();
