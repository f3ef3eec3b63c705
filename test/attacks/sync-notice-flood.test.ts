import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { fnv1a32, incarnationTag, MessageType } from '../../src/protocol/messages.js';
import '../helpers/no-unhandled.js';
import type { SimSite } from '../helpers/sim.js';
import { honestHellos, openSite as openSiteOf } from './open-site.js';

/**
 * Lost notices on an open (unkeyed) site, where anyone who runs an agent is a verified member and
 * watches a few others on the ring. Its notices make every agent probe the agents it names; if it
 * repeats false ones each second, one multicast a second draws N probes (and a summary on every
 * fourth) to each of them: amplification aimed at agents of the attacker's choosing.
 */
const AGENTS = 40;
const HOSTILE = 'agent-8';

const openSite = (seed: number) => openSiteOf(seed, AGENTS);

/** Notices from `reporter` naming the current lives of `subjects` (every other agent), 8 to a datagram. */
function notices(site: SimSite, reporter = HOSTILE, subjects?: string[]): Buffer[] {
  const hints = [...site.agents.values()]
    .filter((a) => (subjects ? subjects.includes(a.name) : a.name !== reporter))
    .map((a) => ({ nameHash: fnv1a32(a.name), incarnationTag: incarnationTag(a.incarnation), version: 1 }));
  const out: Buffer[] = [];
  for (let i = 0; i < hints.length; i += 8) {
    const bytes = encodeMessage({
      type: MessageType.notice,
      site: 'sim',
      name: reporter,
      incarnation: site.agents.get(reporter)!.incarnation,
      version: 1,
      peerPort: 7771,
      hints: hints.slice(i, i + 8),
    }).bytes;
    out.push(Buffer.from(bytes));
  }
  return out;
}

/** Probes (hellos) the honest agents send in `ms`, while `each` runs once a second. */
async function hellosDuring(site: SimSite, ms: number, each: () => void): Promise<number> {
  return (await honestHellos(site, HOSTILE, ms, each)).length;
}

test('false lost notices repeated each second by an open-site member draw a bounded number of probes', async () => {
  const site = await openSite(1831);
  try {
    const idle = await hellosDuring(site, 20_000, () => {});
    const flood = notices(site);
    const hostile = site.agents.get(HOSTILE)!.address;
    const attacked = await hellosDuring(site, 20_000, () => flood.forEach((d) => site.network.inject(hostile, d)));
    const probed = site.running().reduce((n, a) => n + a.agent.metrics.lostNotices.get({ result: 'probed' }), 0);
    console.log(`  hellos in 20 s: idle ${idle}, under false notices ${attacked} (${probed} notice probes)`);
    // A round of probes per named agent is the price of listening to notices at all; after a false one its
    // sender is not listened to for 4 periods, after a second for 16, then for 60: two rounds in 20 s.
    const bound = idle + 2 * AGENTS * 8;
    assert.ok(attacked <= bound, `${attacked} hellos under false notices, more than ${bound}`);
    const notAlive = site
      .running()
      .filter((a) => site.running().some((o) => o.agent.directory.held(a.name)?.state !== 'alive'));
    assert.equal(
      notAlive.map((a) => a.name),
      [],
      'nobody was lost',
    );
  } finally {
    await site.stopAll();
  }
});

/** The agents `subject` sends its unicast heartbeats to: its monitors on the ring. */
async function monitorsOf(site: SimSite, subject: string): Promise<string[]> {
  const from = site.agents.get(subject)!.address;
  const to = new Set<string>();
  site.network.onEvent = (e) => {
    if (e.type === 'datagram' && e.kind === 'unicast' && e.from === from) to.add(e.to);
  };
  await site.clock.advance(3000);
  site.network.onEvent = undefined;
  return [...site.agents.values()].filter((a) => to.has(a.address)).map((a) => a.name);
}

function total(site: SimSite, result: string): number {
  return site.running().reduce((n, a) => n + a.agent.metrics.lostNotices.get({ result }), 0);
}

test("an honest monitor's one false notice costs it a few periods: its true notice 10 s later is acted on", async () => {
  const site = await openSite(1832);
  try {
    const subject = 'agent-5';
    const [monitor] = await monitorsOf(site, subject);
    assert.ok(monitor, `${subject} has a monitor`);
    // Its probe of the subject timed out once (its host was busy): it tells the site, which probes in vain.
    site.network.inject(site.agents.get(monitor)!.address, notices(site, monitor, [subject])[0]);
    await site.clock.advance(2000);
    assert.ok(total(site, 'probed') > 0, 'the false notice drew probes');
    await site.clock.advance(8000);
    const distrusted = total(site, 'distrusted');
    await site.crash(subject);
    const t0 = site.clock.monotonic();
    const notLost = () => site.running().filter((a) => a.agent.directory.held(subject)?.state === 'alive');
    while (notLost().length > 0 && site.clock.monotonic() - t0 < 10_000) await site.clock.advance(50);
    const took = site.clock.monotonic() - t0;
    const ignored = total(site, 'distrusted') - distrusted;
    console.log(
      `  ${subject} lost everywhere ${took} ms after its crash; ${monitor}'s notice distrusted ${ignored} times`,
    );
    assert.is(ignored, 0, `no agent ignored ${monitor}'s true notice`);
    assert.ok(took <= 6000, `lost everywhere within 6 s (${took} ms)`);
  } finally {
    await site.stopAll();
  }
});

/**
 * Attack (s5): on an open site a UDP source is forged at no cost, so anyone can send a false notice under a
 * monitor's name from its address. Repeated each second, it keeps every monitor of a subject distrusted (4,
 * 16, then 60 periods at a time): the monitors' true notice of the subject's crash then goes unheard, and
 * the others learn of it only from their backstop (5 of its stretched intervals of silence).
 */
test('forged notices in its monitors’ names do not keep a crash unheard', async () => {
  const site = await openSite(1833);
  try {
    const subject = 'agent-5';
    const monitors = await monitorsOf(site, subject);
    const frame = monitors.map((m) => [site.agents.get(m)!.address, notices(site, m, [subject])[0]] as const);
    const forge = () => frame.forEach(([from, d]) => site.network.inject(from, d));
    const at = site.agents.get(subject)!.address;
    let probes = 0;
    site.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.route === 'hello' && e.to.startsWith(`${at}:`)) probes++;
    };
    for (let t = 0; t < 30_000; t += 1000) {
      forge();
      await site.clock.advance(1000);
    }
    site.network.onEvent = undefined;
    // The distrust's rounds (at 0, 5 and 22 s), one per framed monitor; the sooner judged silence adds none
    // while the subject's heartbeats come (228 before the fix and after).
    assert.ok(
      probes <= 3 * monitors.length * AGENTS,
      `${probes} probes of the live ${subject} in 30 s of forged notices`,
    );
    await site.crash(subject);
    const t0 = site.clock.monotonic();
    const notLost = () => site.running().filter((a) => a.agent.directory.held(subject)?.state === 'alive');
    while (notLost().length > 0 && site.clock.monotonic() - t0 < 60_000) {
      forge();
      await site.clock.advance(250);
    }
    const took = site.clock.monotonic() - t0;
    console.log(
      `  ${subject} (monitors ${monitors.join(', ')} framed: ${probes} probes in 30 s) lost everywhere ${took} ms after its crash`,
    );
    assert.ok(took <= 6000, `lost everywhere within 6 s (${took} ms; ${notLost().length} still hold it alive)`);
  } finally {
    await site.stopAll();
  }
});

test.run();
