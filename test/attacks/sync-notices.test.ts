import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { fnv1a32, incarnationTag, MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { MONITOR_GAP_PERIODS } from '../../src/sync/ring.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * The new surface of issue 18 on the in-memory network with the real HMAC envelope: lost notices
 * (message type 5) and unicast datagrams. A site of 40 agents, large enough for stretched heartbeats,
 * ring monitors and notices.
 */
const AGENTS = 40;

async function keyedSite(seed: number): Promise<SimSite> {
  const site = new SimSite(seed, {}, 1000, parseKeyRing(generateKey()), { logLevel: 'silent', settleTurns: 1 });
  for (let i = 0; i < AGENTS; i++) {
    await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    await site.clock.advance(5);
  }
  await site.clock.advance(15_000);
  return site;
}

/** A notice from `reporter` naming `subject`'s current life: the bytes inside the envelope. */
function notice(site: SimSite, reporter: string, subject: string): Buffer {
  return encodeMessage({
    type: MessageType.notice,
    site: 'sim',
    name: reporter,
    incarnation: site.agents.get(reporter)!.incarnation,
    version: 1,
    peerPort: 7771,
    hints: [
      {
        nameHash: fnv1a32(subject),
        incarnationTag: incarnationTag(site.agents.get(subject)!.incarnation),
        version: 1,
      },
    ],
  }).bytes;
}

function notAlive(site: SimSite, subject: string): string[] {
  return site
    .running()
    .filter((a) => a.name !== subject && a.agent.directory.held(subject)?.state !== 'alive')
    .map((a) => a.name);
}

test('an unsigned lost notice on a keyed site is refused before it is read: nobody loses anyone', async () => {
  const site = await keyedSite(1801);
  site.network.inject('10.0.0.9', notice(site, 'agent-8', 'agent-3'));
  await site.clock.advance(50);
  assert.equal(notAlive(site, 'agent-3'), []);
  const refused = site.running().reduce((n, a) => n + a.agent.metrics.decodeErrors.get({ reason: 'unsigned' }), 0);
  assert.is(refused, AGENTS, 'every agent refused it as unsigned');
  await site.stopAll();
});

/**
 * Waits until `name` has multicast nothing for over MONITOR_GAP_PERIODS liveness periods: the others have
 * not heard it lately (its monitors have: its unicast heartbeats).
 */
async function quietFor(site: SimSite, name: string): Promise<void> {
  const address = site.agents.get(name)!.address;
  let last = site.clock.monotonic();
  site.network.onEvent = (e) => {
    if (e.type === 'datagram' && e.from === address && e.kind === undefined) last = site.clock.monotonic();
  };
  while (site.clock.monotonic() - last <= MONITOR_GAP_PERIODS * 1000 + 100) await site.clock.advance(20);
  site.network.onEvent = undefined;
}

test('a signed notice about a live agent is refuted: alive everywhere again within a second', async () => {
  const site = await keyedSite(1802);
  await quietFor(site, 'agent-3');
  // A member whose view is wrong (or whose key leaked) says agent-3 is gone.
  const sealed = site.envelopes.get('agent-8')!.seal(notice(site, 'agent-8', 'agent-3'));
  site.network.inject(site.agents.get('agent-8')!.address, sealed);
  await site.clock.advance(20);
  const believed = site.running().reduce((n, a) => n + a.agent.metrics.lostNotices.get({ result: 'believed' }), 0);
  assert.ok(believed > 0, `believed by ${believed} agents that had not heard agent-3 lately`);
  const refuted = site.agents.get('agent-3')!.agent.metrics.lostNotices.get({ result: 'refuted' });
  assert.is(refuted, 1, 'the named agent heard it and refuted');
  await site.clock.advance(1000);
  assert.equal(notAlive(site, 'agent-3'), [], 'its refutation made it alive everywhere');
  await site.stopAll();
});

test('a replayed signed notice changes nothing once the agent is back', async () => {
  const site = await keyedSite(1803);
  const reporter = site.agents.get('agent-8')!;
  const sealed = site.envelopes.get('agent-8')!.seal(notice(site, 'agent-8', 'agent-3'));
  site.network.inject(reporter.address, sealed);
  await site.clock.advance(1000);
  assert.equal(notAlive(site, 'agent-3'), []);
  for (let i = 0; i < 5; i++) {
    site.network.inject(reporter.address, sealed);
    await site.clock.advance(100);
    assert.equal(notAlive(site, 'agent-3'), [], `replay ${i + 1}`);
  }
  await site.stopAll();
});

test('a flood of unicast junk to one agent is refused and counted; the site stays alive and converged', async () => {
  const site = await keyedSite(1804);
  const target = site.agents.get('agent-5')!;
  const junk = Buffer.from(notice(site, 'agent-8', 'agent-3')); // unsigned, like any forger's
  for (let i = 0; i < 2000; i++) {
    site.network.injectTo('10.0.0.200', target.address, junk);
    if (i % 100 === 0) await site.clock.advance(10);
  }
  await site.clock.advance(3000);
  assert.ok(target.agent.metrics.decodeErrors.get({ reason: 'unsigned' }) >= 2000, 'every one refused');
  assert.ok(target.agent.metrics.datagramBytesReceived.get({ kind: 'unicast' }) > 2000 * junk.length);
  for (const a of site.running()) assert.equal(notAlive(site, a.name), [], `${a.name} alive everywhere`);
  assert.ok(site.converged(), 'converged');
  await site.stopAll();
});

test("a notice naming an agent's earlier life is not counted as refuted by it", async () => {
  const site = await keyedSite(1805);
  const old = encodeMessage({
    type: MessageType.notice,
    site: 'sim',
    name: 'agent-8',
    incarnation: site.agents.get('agent-8')!.incarnation,
    version: 1,
    peerPort: 7771,
    hints: [
      {
        nameHash: fnv1a32('agent-3'),
        incarnationTag: incarnationTag(site.agents.get('agent-3')!.incarnation - 1),
        version: 1,
      },
    ],
  }).bytes;
  site.network.inject(site.agents.get('agent-8')!.address, site.envelopes.get('agent-8')!.seal(old));
  await site.clock.advance(50);
  const metrics = site.agents.get('agent-3')!.agent.metrics.lostNotices;
  assert.is(metrics.get({ result: 'refuted' }), 0, 'nothing was refuted');
  assert.is(metrics.get({ result: 'ignored' }), 1, 'it was ignored');
  await site.stopAll();
});

test.run();
