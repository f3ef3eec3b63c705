import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHeraldMetrics } from '../src/metrics/herald-metrics.js';
import { LocalHealth } from '../src/sync/local-health.js';
import type { Peer } from '../src/sync/peer-table.js';
import { Rejoin } from '../src/sync/rejoin.js';
import { Ring } from '../src/sync/ring.js';
import type { SyncContext } from '../src/sync/sync-context.js';
import { FakeClock } from '../src/util/clock.js';

/**
 * Rejoin's second exchange within the minute (test/attacks/rejoin-flapping.test.ts, the strict case): only after
 * a cut-off, where this agent's loop ran on time while it heard nobody, never after a stall of its own loop;
 * and at most one such a minute, so a flapping link asks at most 2 summaries a minute.
 */
function rejoinOf(clock: FakeClock, free: { ms: number }): { rejoin: Rejoin; asked: number[]; peer: Peer } {
  const asked: number[] = [];
  const peer = { name: 'a', verified: true, endpoint: { address: '10.0.0.2', port: 7771 }, lastHeard: 0 } as Peer;
  const ring = new Ring(['me', 'a']);
  const s = {
    c: {
      clock,
      transport: {},
      peers: {
        hello: () => {
          asked.push(clock.monotonic());
          return Promise.reject(new Error('cut off'));
        },
      },
      logger: { info: () => {} },
      metrics: createHeraldMetrics(),
      directory: { held: () => ({ state: 'alive' }) },
    },
    cfg: { name: 'me', livenessPeriodMs: 1000 },
    members: { ring: () => ring },
    peers: { get: (n: string) => (n === 'a' ? peer : undefined), values: () => [peer].values() },
    running: () => true,
    self: { name: 'me', incarnation: 1, port: 7771 },
  } as unknown as SyncContext;
  const health = { freeMs: () => free.ms, longestStallSince: () => 0 };
  const rejoin = new Rejoin(s, { check: () => {}, learn: () => {} }, health);
  return { rejoin, asked, peer };
}

/** Hears the peer after `gapMs` of hearing nobody. */
async function heardAfter(clock: FakeClock, r: ReturnType<typeof rejoinOf>, gapMs: number): Promise<void> {
  await clock.advance(gapMs);
  r.rejoin.heard(r.peer, false);
  await clock.advance(1);
}

/** An agent that made its exchange after a first cut-off of 3 s. */
async function afterFirstCut(): Promise<{ clock: FakeClock; free: { ms: number }; r: ReturnType<typeof rejoinOf> }> {
  const clock = new FakeClock(0, undefined, 1);
  const free = { ms: 3000 };
  const r = rejoinOf(clock, free);
  r.rejoin.heard(r.peer, false);
  await heardAfter(clock, r, 3000);
  assert.is(r.asked.length, 1, 'the first cut-off');
  return { clock, free, r };
}

test('a second cut-off within the minute is exchanged at once; a third waits for the bound', async () => {
  const { clock, r } = await afterFirstCut();
  await heardAfter(clock, r, 3000);
  assert.is(r.asked.length, 2, 'the second, within the minute');
  await heardAfter(clock, r, 3000);
  assert.is(r.asked.length, 2, 'a third within the minute waits');
});

test('a gap of a stall of its own loop is no cut-off: the minute bound holds', async () => {
  const { clock, free, r } = await afterFirstCut();
  free.ms = 200; // its timers fired 2.8 s late: the gap was its own
  await heardAfter(clock, r, 3000);
  assert.is(r.asked.length, 1);
});

test("LocalHealth.freeMs: a silence with timers on time is the network's, a stall's is the loop's", async () => {
  const clock = new FakeClock(0, undefined, 1);
  const health = new LocalHealth(clock, 1000);
  // On time: its half-period timer fires when due.
  for (let t = 500; t <= 3000; t += 500) {
    await clock.advance(500);
    health.timerFired(t);
  }
  assert.is(health.freeMs(0), 3000);
  // A stall: the timer due at 3,500 fires at 6,000.
  await clock.advance(3000);
  health.timerFired(3500);
  assert.is(health.freeMs(3000), 500);
});

test.run();
