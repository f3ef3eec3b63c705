import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HmacEnvelope } from '../../src/protocol/hmac-envelope.js';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import type { Clock } from '../../src/util/clock.js';
import { device, SimSite } from '../helpers/sim.js';

/** The site's clock with a wall-time offset that a test steps, as NTP does (monotonic time is untouched). */
function stepped(clock: Clock): Clock & { offsetMs: number } {
  return {
    offsetMs: 0,
    now() {
      return clock.now() + this.offsetMs;
    },
    monotonic: () => clock.monotonic(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (h) => clock.clearTimeout(h),
  };
}

/**
 * Receivers ignore a keyed datagram whose sender time is not newer than the newest they heard from that
 * sender (a replay or a copy: ClusterSync.fresh). A sender whose wall clock NTP steps back (it ran fast) by
 * Δ within the 2-minute window is then deaf to the site for Δ: its changes, goodbyes and hints are all
 * ignored as replays, and a change waits for a probe of a "silent" agent (2.4 s here, was 0.1 s).
 */
test("a change made just after the agent's clock stepped back 60 s (NTP) reaches the others", async () => {
  const keys = parseKeyRing(generateKey());
  const site = new SimSite(61, { loss: 0 }, 1000, keys);
  try {
    const clock = stepped(site.clock);
    await site.start('a', [device('a-1')], { components: { envelope: new HmacEnvelope(keys, clock) } });
    for (const n of ['b', 'c']) await site.start(n, [device(`${n}-1`)]);
    await site.clock.advance(5000);
    clock.offsetMs = -60_000;
    await site.clock.advance(200);
    await site.change('a', [device('a-1'), device('a-2')]);
    let t = 0;
    const has = () => site.agents.get('b')!.agent.directory.held('a')?.version === 2;
    while (!has() && t < 30_000) {
      await site.clock.advance(100);
      t += 100;
    }
    const b = site.agents.get('b')!.agent.metrics;
    console.log(
      `  b holds the change after ${t} ms; ${b.announcementsIgnored.get({ reason: 'replay' })} ignored as replays`,
    );
    assert.ok(t <= 2000, `the change reached b after ${t} ms`);
  } finally {
    await site.stopAll();
  }
});

test('no datagram an honest agent sends is ignored as a replay (two sealed in one millisecond)', async () => {
  const site = new SimSite(62, { loss: 0 }, 1000, parseKeyRing(generateKey()));
  try {
    for (const n of ['a', 'b', 'c']) await site.start(n, [device(`${n}-1`)]);
    await site.clock.advance(3000);
    for (let i = 2; i < 6; i++) {
      await site.change('a', [device('a-1'), device(`a-${i}`)]);
      await site.clock.advance(700);
    }
    for (const n of ['a', 'b', 'c']) {
      const replays = site.agents.get(n)!.agent.metrics.announcementsIgnored.get({ reason: 'replay' });
      assert.is(replays, 0, `honest datagrams ignored as replays at ${n}`);
    }
  } finally {
    await site.stopAll();
  }
});

test.run();
