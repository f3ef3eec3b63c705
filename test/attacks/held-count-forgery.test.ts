import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { openSite } from './open-site.js';

const ATTACKER = '10.0.0.200';
const FORGED = 200;

/**
 * An agent judges a peer's silence by the agents it holds alive, verified or not (cold14): on an open site
 * anyone can multicast heartbeats under made-up names, each held alive and unverified until its endpoint
 * fails it (at most SYNC_LIMITS.unverifiedPeers at once). Here they stretch the judgement of a 10-agent
 * site to that of ~140 agents, so a non-monitor waits long before its own backstop; the ring (verified
 * members only) is untouched, so a crash is still found by its two monitors and told by their notices.
 */
test('heartbeats under made-up names on an open site do not slow the finding of a crash', async () => {
  const site = await openSite(1411, 10);
  try {
    const forge = (i: number) => {
      const msg = { type: MessageType.heartbeat, site: 'sim', name: `ghost-${i}`, incarnation: 1, version: 0 };
      site.network.inject(ATTACKER, encodeMessage({ ...msg, peerPort: 1, hints: [] }).bytes);
    };
    for (let t = 0; t < 10; t++) {
      for (let i = 0; i < FORGED; i++) forge(i);
      await site.clock.advance(1_000);
    }
    const crashedAt = site.clock.monotonic();
    await site.crash('agent-3');
    const lostAt = new Map<string, number>();
    for (let t = 0; t < 10_000 && lostAt.size < 9; t += 100) {
      if (t % 1_000 === 0) for (let i = 0; i < FORGED; i++) forge(i);
      await site.clock.advance(100);
      for (const a of site.running())
        if (!lostAt.has(a.name) && a.agent.directory.held('agent-3')?.state === 'lost')
          lostAt.set(a.name, site.clock.monotonic() - crashedAt);
    }
    const slowest = Math.max(...lostAt.values());
    console.log(`  agents that found the crash: ${lostAt.size} of 9, the last after ${slowest} ms`);
    assert.is(lostAt.size, 9);
    assert.ok(slowest <= 3_500, `the crash found by all after ${slowest} ms`);
  } finally {
    await site.stopAll();
  }
});

test.run();
