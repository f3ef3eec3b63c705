import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../src/security/cluster-key.js';
import { MdnsSite } from './helpers/mdns-sim.js';
import { device } from './helpers/sim.js';

/** What ClusterSync does with what the mDNS module reports: adverts, unchanged re-announcements, goodbyes. */

test('without a key, an unchanged mDNS re-announcement counts as hearing the agent', async () => {
  const site = await MdnsSite.pair(5);
  await site.clock.advance(3000);
  site.network.partition([['10.0.1.1'], ['10.0.1.2']]); // probes time out: only mDNS gets through
  for (let t = 0; t < 120_000; t += 5000) {
    site.advertise('a', 'refresh');
    await site.clock.advance(5000);
  }
  assert.is(site.state('b', 'a'), 'alive');
  await site.stopAll();
});

test('with a key, adverts lead to probes: agents and changes are learnt from verified answers only', async () => {
  const site = await MdnsSite.pair(5, parseKeyRing(generateKey()));
  await site.clock.advance(100);
  const b = site.agents.get('b')!.agent;
  assert.equal(
    b.directory.devices({ agent: 'a' }).map((d) => d.id),
    ['a-1'],
  );
  await site.change('a', [device('a-1'), device('a-2')]);
  site.advertise('a'); // the TXT record's version went up
  await site.clock.advance(100);
  assert.is(b.directory.devices({ agent: 'a' }).length, 2, 'the change, fetched after a verified probe');

  // A forged advert: a name at an endpoint that answers as someone else, and one where nothing listens.
  const ctx = site.agents.get('b')!.ctx!;
  const forged = { site: 'sim', incarnation: 9e12, version: 99, peerPort: 7771 };
  ctx.sync.observe({ ...forged, name: 'ghost', address: '10.0.1.1' }, 'mdns');
  ctx.sync.observe({ ...forged, name: 'ghost2', address: '10.0.1.77' }, 'mdns');
  ctx.sync.observe({ ...forged, name: 'a', address: '10.0.1.1' }, 'mdns'); // a huge incarnation for a
  await site.clock.advance(5000);
  assert.is(b.directory.agent('ghost'), undefined);
  assert.is(b.directory.agent('ghost2'), undefined);
  assert.is(site.state('b', 'a'), 'alive', "a forged TXT incarnation changes nothing of a's life");
  assert.is(b.directory.held('a')!.incarnation, site.agents.get('a')!.agent.directory.held('a')!.incarnation);
  await site.stopAll();
});

test('an mDNS goodbye counts once a probe finds nothing listening, and only for the incarnation it names', async () => {
  const site = await MdnsSite.pair(5);
  await site.clock.advance(1000);
  const b = site.agents.get('b')!;
  const incarnation = b.agent.directory.held('a')!.incarnation;
  b.ctx!.sync.observeGoodbye('a', incarnation); // forged: a still answers
  b.ctx!.sync.observeGoodbye('a', incarnation - 1); // an old life's
  await site.clock.advance(1000);
  assert.is(site.state('b', 'a'), 'alive');
  await site.agents.get('a')!.agent.stop({ goodbye: false });
  b.ctx!.sync.observeGoodbye('a', incarnation);
  await site.clock.advance(100);
  assert.is(site.state('b', 'a'), 'left');
  await site.stopAll();
});

test.run();
