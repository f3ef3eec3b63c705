import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHALLENGE_BYTES, encodeChallenge, encodeEcho } from '../../src/protocol/challenge.js';
import { fnv1a32 } from '../../src/protocol/messages.js';
import { device, SimSite, type SimAgent } from '../helpers/sim.js';

/**
 * Malformed challenges and echoes (src/protocol/challenge.ts): each a decode error by its reason, no echo, no bug.
 * Held when first tried (attackch21): a guard.
 */
test('malformed challenges and echoes: counted by reason, nothing echoed, nothing thrown', async () => {
  const s = new SimSite(2151, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  try {
    for (let i = 0; i < 4; i++) {
      await s.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
      await s.clock.advance(100);
    }
    assert.ok((await s.runUntilConverged(30_000)) >= 0, 'converged');
    const target = s.agents.get('agent-1')!;
    const nonce = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2]);
    const challenge = encodeChallenge({ nonce, nameHash: fnv1a32(target.name) });
    const echo = encodeEcho({ nonce, nameHash: 1, incarnation: 5, version: 1, setDigest: 'ab'.repeat(8) });
    const withCounter = encodeEcho({
      nonce,
      nameHash: 1,
      incarnation: 5,
      version: 1,
      setDigest: 'ab'.repeat(8),
      counter: nonce,
    });
    const edit = (b: Uint8Array, at: number, v: number) => Uint8Array.from(b, (x, i) => (i === at ? v : x));
    const cases: [string, Uint8Array][] = [
      ['short', challenge.subarray(0, 8)],
      ['length', challenge.subarray(0, CHALLENGE_BYTES - 1)],
      ['length', Uint8Array.from([...challenge, 0])],
      ['length', Uint8Array.from([...challenge, ...new Uint8Array(1400)])],
      ['padding', edit(challenge, CHALLENGE_BYTES - 1, 1)],
      ['flags', edit(challenge, 4, 1)],
      ['format-version', edit(challenge, 2, 2)],
      ['magic', edit(challenge, 0, 0)],
      ['trailing', Uint8Array.from([...echo, 1])],
      ['truncated', withCounter.subarray(0, withCounter.length - 1)],
      ['flags', edit(echo, 4, 2)],
      ['varint', Uint8Array.from([...echo.subarray(0, 17), ...new Uint8Array(9).fill(0xff)])],
      ['short', Uint8Array.from([0x48, 0x52, 1, 8])],
    ];
    const errors = (a: SimAgent) => a.agent.metrics.decodeErrors;
    const reasons = new Set(cases.map(([r]) => r));
    const before = new Map([...reasons].map((r) => [r, errors(target).get({ reason: r })]));
    const echoed = () => target.agent.metrics.announceChallenges.get({ result: 'echoed' });
    const echoedBefore = echoed();
    for (const [, bytes] of cases) s.network.injectTo('10.0.9.9', target.address, bytes);
    await s.clock.advance(1_000);
    for (const r of reasons) {
      const want = cases.filter(([c]) => c === r).length;
      assert.is(errors(target).get({ reason: r }) - before.get(r)!, want, `decode errors "${r}"`);
    }
    assert.is(echoed() - echoedBefore, 0, 'nothing echoed');
    assert.is(target.agent.metrics.bugs.get({ where: 'datagram-handler' }), 0);
    assert.ok(s.converged(), 'still converged');
  } finally {
    await s.stopAll();
  }
});

test.run();
