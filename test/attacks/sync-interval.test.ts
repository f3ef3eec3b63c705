import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * The heartbeat interval of issue 18 scales with the mean heartbeat size (RTCP's avg_rtcp_size). Only
 * heartbeats that are a member's word may move it: on a keyed site, an attacker without the key sends
 * large datagrams that only look like heartbeats.
 */
const AGENTS = 10;
const ATTACKER = '10.0.0.200';

/** Multicast datagrams the agents sent over `ms`, as a listener on the segment counts them. */
async function multicastOver(site: SimSite, ms: number): Promise<number> {
  const real = new Set(site.running().map((a) => a.address));
  let sent = 0;
  site.network.onEvent = (e) => {
    if (e.type === 'datagram' && e.kind === undefined && real.has(e.from) && e.to === ATTACKER) sent++;
  };
  await site.clock.advance(ms);
  site.network.onEvent = undefined;
  return sent;
}

test("unsigned datagrams that look like large heartbeats do not stretch a keyed site's interval", async () => {
  const site = new SimSite(1821, {}, 1000, parseKeyRing(generateKey()), { logLevel: 'silent', settleTurns: 1 });
  for (let i = 0; i < AGENTS; i++) {
    await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    await site.clock.advance(5);
  }
  const listener = site.network.datagramTransport(ATTACKER);
  await listener.start(() => {});
  await site.clock.advance(10_000);
  const before = await multicastOver(site, 10_000);
  const msg = {
    type: MessageType.heartbeat,
    site: 'sim',
    name: 'x',
    incarnation: 1,
    version: 0,
    peerPort: 1,
    hints: [],
  };
  const junk = Buffer.concat([encodeMessage(msg).bytes, Buffer.alloc(1400)]); // a heartbeat's head, no valid tag
  for (let i = 0; i < 40; i++) {
    site.network.inject(ATTACKER, junk);
    await site.clock.advance(25);
  }
  const during = await multicastOver(site, 10_000);
  const reasons = ['unsigned', 'unknown-key', 'bad-signature'];
  const refused = site
    .running()
    .reduce((n, a) => n + reasons.reduce((m, reason) => m + a.agent.metrics.decodeErrors.get({ reason }), 0), 0);
  assert.ok(refused >= AGENTS * 40, `every junk datagram refused (${refused})`);
  assert.ok(during >= 0.8 * before, `${during} heartbeats in 10 s after the junk, ${before} before`);
  await listener.stop();
  await site.stopAll();
});

test('replays of a captured signed solicit do not make the site heartbeat faster', async () => {
  const site = new SimSite(1822, {}, 1000, parseKeyRing(generateKey()), { logLevel: 'silent', settleTurns: 1 });
  // The attacker captures agent-0's solicit as it starts (any datagram on the segment can be recorded).
  let captured: Uint8Array | undefined;
  site.network.onSend = (from, data) => {
    if (from === '10.0.0.1' && captured === undefined && data[3] === MessageType.solicit) captured = data;
  };
  for (let i = 0; i < AGENTS; i++) {
    await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
    await site.clock.advance(5);
  }
  site.network.onSend = undefined;
  assert.ok(captured, 'a solicit was captured');
  const listener = site.network.datagramTransport(ATTACKER);
  await listener.start(() => {});
  await site.clock.advance(10_000);
  const before = await multicastOver(site, 10_000);
  let during = 0;
  for (let i = 0; i < 20; i++) {
    site.network.inject('10.0.0.1', captured);
    during += await multicastOver(site, 500);
  }
  assert.ok(during <= 1.5 * before, `${during} datagrams in 10 s of replays, ${before} before`);
  await listener.stop();
  await site.stopAll();
});

test.run();
