import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { fnv1a32, incarnationTag, MessageType } from '../../src/protocol/messages.js';
import '../helpers/no-unhandled.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * Lost notices on an open (unkeyed) site, where anyone who runs an agent is a verified member and
 * watches a few others on the ring. Its notices make every agent probe the agents it names; if it
 * repeats false ones each second, one multicast a second draws N probes (and a summary on every
 * fourth) to each of them: amplification aimed at agents of the attacker's choosing.
 */
const AGENTS = 40;
const HOSTILE = 'agent-8';

async function openSite(seed: number): Promise<SimSite> {
  const site = new SimSite(seed, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  for (let i = 0; i < AGENTS; i++) {
    await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    await site.clock.advance(5);
  }
  await site.clock.advance(15_000);
  return site;
}

/** Notices from the hostile member naming every other agent's current life, 8 to a datagram. */
function notices(site: SimSite): Buffer[] {
  const hints = [...site.agents.values()]
    .filter((a) => a.name !== HOSTILE)
    .map((a) => ({ nameHash: fnv1a32(a.name), incarnationTag: incarnationTag(a.incarnation), version: 1 }));
  const out: Buffer[] = [];
  for (let i = 0; i < hints.length; i += 8) {
    const bytes = encodeMessage({
      type: MessageType.notice,
      site: 'sim',
      name: HOSTILE,
      incarnation: site.agents.get(HOSTILE)!.incarnation,
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
  let hellos = 0;
  const hostile = site.agents.get(HOSTILE)!.address;
  site.network.onEvent = (e) => {
    if (e.type === 'rpc' && e.route === 'hello' && e.from !== hostile) hellos++;
  };
  for (let t = 0; t < ms; t += 1000) {
    each();
    await site.clock.advance(1000);
  }
  site.network.onEvent = undefined;
  return hellos;
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
    // One round of probes per named agent is the price of listening to notices at all; after a false one
    // its sender is not listened to for a while.
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

test.run();
