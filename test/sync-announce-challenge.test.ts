import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../src/protocol/codec.js';
import { encodeEcho } from '../src/protocol/challenge.js';
import { fnv1a32, MessageType } from '../src/protocol/messages.js';
import { device, SimSite, type SimAgent } from './helpers/sim.js';

/**
 * An open site's announce challenge (src/sync/challenges.ts, docs/protocol.md *An announcer's check by datagram*):
 * an unverified agent's announcement is checked by a nonce to the datagram endpoint it came from, not by a catch-up
 * of its set at its endpoint. A cold start of N asked N(N-1)/2 of those catch-ups (issue 18: 20,537 at 200).
 */
const N = 30;

async function coldStart(seed: number, before?: (s: SimSite) => void, n = N): Promise<{ s: SimSite; ms: number }> {
  const s = new SimSite(seed, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  before?.(s);
  for (let i = 0; i < n; i++) {
    await s.start(`agent-${i}`, [device(`d-${i}`), device(`e-${i}`)], { index: i + 1 });
    await s.clock.advance(100);
  }
  return { s, ms: await s.runUntilConverged(30_000) };
}

function sum(s: SimSite, read: (a: SimAgent) => number): number {
  return [...s.agents.values()].reduce((n, a) => n + read(a), 0);
}

/** The catch-ups (`changes` requests) made, and the hellos that check a set taken from a bulk answer (`set=1`). */
function countRequests(s: SimSite): { changes: number; setChecks: number } {
  const counts = { changes: 0, setChecks: 0 };
  s.network.onEvent = (e) => {
    if (e.type === 'rpc' && e.route === 'changes') counts.changes += 1;
    if (e.type === 'rpc' && e.route === 'hello' && new URLSearchParams(e.query).get('set') === '1')
      counts.setChecks += 1;
  };
  return counts;
}

test(`open cold start of ${N}, 0 % loss: no catch-up verifies an announcement; the echoes do`, async () => {
  let counts = { changes: 0, setChecks: 0 };
  const { s, ms } = await coldStart(2101, (site) => (counts = countRequests(site)));
  try {
    assert.ok(ms >= 0, 'converged');
    const unverified = sum(s, (a) => a.agent.metrics.gapsDetected.get({ signal: 'unverified' }));
    console.log(
      `    ${counts.changes} catch-ups, ${unverified} for unverified announcements (was ${(N * (N - 1)) / 2})`,
    );
    assert.is(unverified, 0, 'no catch-up of an unverified announcement');
    assert.ok(counts.changes < N * 3, `${counts.changes} catch-ups in all`);
  } finally {
    await s.stopAll();
  }
});

test("open cold start of 60: a newcomer takes the sets its bulk answer gave on their origins' word, not a probe each", async () => {
  let counts = { changes: 0, setChecks: 0 };
  const { s, ms } = await coldStart(2104, (site) => (counts = countRequests(site)), 60);
  try {
    assert.ok(ms >= 0, 'converged');
    const words = sum(s, (a) => a.agent.metrics.announceChallenges.get({ result: 'word-confirmed' }));
    console.log(
      `    ${counts.setChecks} set checks by probe, ${words} by an origin's word (${counts.changes} catch-ups)`,
    );
    assert.ok(counts.setChecks < 60, `${counts.setChecks} probes checked a set taken second-hand`);
  } finally {
    await s.stopAll();
  }
});

test('every challenge and echo lost: each announcement falls back to its catch-up, and the site converges', async () => {
  const { s, ms } = await coldStart(2102, (site) => {
    site.network.dropAtSend = (_from, _to, kind) => kind === 'unicast';
  });
  try {
    assert.ok(ms >= 0, 'converged');
    const unanswered = sum(s, (a) => a.agent.metrics.announceChallenges.get({ result: 'unanswered' }));
    assert.ok(unanswered > (N * (N - 1)) / 4, `${unanswered} challenges unanswered, each fell back`);
    assert.is(
      sum(s, (a) => a.agent.metrics.announceChallenges.get({ result: 'confirmed' })),
      0,
    );
  } finally {
    await s.stopAll();
  }
});

const announce = (name: string, incarnation: number, id: string) =>
  encodeMessage({
    type: MessageType.announce,
    site: 'sim',
    name,
    incarnation,
    version: 1,
    peerPort: 7771,
    hints: [],
    delta: { version: 1, added: [device(id)], updated: [], removed: [] },
  }).bytes;

test("off-path forgeries: a made-up agent at a real agent's endpoint, echoes guessed, a newcomer's set", async () => {
  const { s } = await coldStart(2103);
  try {
    const [viewer, real] = [s.agents.get('agent-0')!, s.agents.get('agent-1')!];
    // A made-up name announced from a real agent's datagram endpoint: that agent is challenged, is not the one
    // named, and stays silent; the catch-up the viewer falls back to finds no such agent there.
    s.network.inject(real.address, announce('ghost', 7, 'ghost-d'));
    // From an address no host holds, with echoes that guess the nonce (the digest is right: the forger made it).
    s.network.inject('10.0.9.9', announce('phantom', 7, 'phantom-d'));
    for (let i = 0; i < 50; i++) {
      const guess = Uint8Array.from({ length: 8 }, (_, k) => (i * 8 + k) & 255);
      const echo = {
        nonce: guess,
        nameHash: fnv1a32('phantom'),
        incarnation: 7,
        version: 1,
        setDigest: '0'.repeat(16),
      };
      s.network.injectTo('10.0.9.9', viewer.address, encodeEcho(echo));
    }
    // A newcomer's first announcement forged before its own, from its address: its echo names its real set.
    const life = (s as unknown as { incarnations: number }).incarnations + 1; // the sim's next
    s.network.inject('10.0.0.99', announce('agent-new', life, 'made-up'));
    const newcomer = await s.start('agent-new', [device('real-new')], { address: '10.0.0.99' });
    await s.clock.advance(10_000);
    for (const a of s.running()) {
      if (a.name === 'agent-new') continue;
      assert.not.ok(a.agent.directory.device('ghost', 'ghost-d'), `${a.name}: no ghost device`);
      assert.not.ok(a.agent.directory.device('phantom', 'phantom-d'), `${a.name}: no phantom device`);
      assert.not.ok(a.agent.directory.device('agent-new', 'made-up'), `${a.name}: no forged device`);
      assert.ok(a.agent.directory.device('agent-new', 'real-new'), `${a.name}: the newcomer's real set`);
    }
    assert.ok(real.agent.metrics.invalidInput.get({ source: 'datagram', reason: 'challenge-not-ours' }) > 0);
    assert.ok(viewer.agent.metrics.invalidInput.get({ source: 'datagram', reason: 'echo-unasked' }) >= 50);
    assert.ok(sum(s, (a) => a.agent.metrics.announceChallenges.get({ result: 'mismatch' })) > 0, 'mismatch seen');
    assert.ok(newcomer.agent.metrics.announceChallenges.get({ result: 'echoed' }) > 0);
  } finally {
    await s.stopAll();
  }
});

test.run();
