import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHeraldMetrics } from '../src/metrics/herald-metrics.js';
import { LocalHealth } from '../src/sync/local-health.js';
import type { Peer } from '../src/sync/peer-table.js';
import { Rejoin } from '../src/sync/rejoin.js';
import { Ring } from '../src/sync/ring.js';
import type { SyncContext } from '../src/sync/sync-context.js';
import { viewDigest } from '../src/sync/view-digest.js';
import { FakeClock } from '../src/util/clock.js';
import type { AgentInfo } from '../src/directory/records.js';

/**
 * Rejoin's second exchange within the minute (test/attacks/rejoin-flapping.test.ts, the strict case): only after
 * a cut-off, where this agent's loop ran on time while it heard nobody, never after a stall of its own loop;
 * and at most one such a minute, so a flapping link asks at most 2 summaries a minute.
 */
interface Probed {
  rejoin: Rejoin;
  /** When a summary was asked (a hello with peers=1). */
  asked: number[];
  /** When a digest of the view was asked (a hello with digest=1, no summary). */
  digests: number[];
  peer: Peer;
}

/** `digest`: the neighbour answers a digest ask with it (else every hello fails); this agent holds `me` and `a`. */
function rejoinOf(clock: FakeClock, free: { ms: number }, digest?: number): Probed {
  const [asked, digests]: number[][] = [[], []];
  const peer = { name: 'a', verified: true, endpoint: { address: '10.0.0.2', port: 7771 }, lastHeard: 0 } as Peer;
  const ring = new Ring(['me', 'a']);
  const s = {
    c: {
      clock,
      transport: {},
      peers: {
        hello: (_at: unknown, _ms: number, withPeers: boolean) => {
          (withPeers ? asked : digests).push(clock.monotonic());
          if (digest !== undefined && !withPeers) return Promise.resolve({ name: 'a', digest });
          return Promise.reject(new Error('cut off'));
        },
      },
      logger: { info: () => {}, debug: () => {} },
      metrics: createHeraldMetrics(),
      directory: {
        held: () => ({ state: 'alive' }),
        agents: () => ['a', 'me'].map((name) => ({ name, incarnation: 1, state: 'alive' })),
      },
    },
    cfg: { name: 'me', livenessPeriodMs: 1000 },
    members: { ring: () => ring },
    peers: { get: (n: string) => (n === 'a' ? peer : undefined), values: () => [peer].values() },
    running: () => true,
    refute: () => {},
    self: { name: 'me', incarnation: 1, port: 7771 },
  } as unknown as SyncContext;
  const health = { freeMs: () => free.ms, longestStallSince: () => 0 };
  const rejoin = new Rejoin(s, { check: () => {}, learn: () => {} }, health);
  return { rejoin, asked, digests, peer };
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

/**
 * An exchange the bound held back on a peer heard again (idle13) is made only if no probe of that peer sent before
 * it was heard answered meanwhile: one that did shows the two were not cut off (a busy peer, its heartbeat read
 * before the answer). A cut-off's is made whatever answers.
 */
async function heldBackFor(answered: 'before' | 'after' | 'none'): Promise<number> {
  const clock = new FakeClock(0, undefined, 1);
  const r = rejoinOf(clock, { ms: 0 });
  /** The peer heard each second: no gap, so no cut-off. */
  const hearing = async (ms: number) => {
    for (let t = 0; t < ms; t += 1000) await heardAfter(clock, r, 1000);
  };
  r.rejoin.heard(r.peer, false);
  r.rejoin.unreachable(r.peer, true);
  r.rejoin.heard(r.peer, false);
  assert.is(r.asked.length, 1, 'the first exchange, on the peer heard again');
  await hearing(5000);
  r.rejoin.unreachable(r.peer, true);
  const probeSent = clock.monotonic();
  await clock.advance(500);
  r.rejoin.heard(r.peer, false); // held back by the minute's bound
  await clock.advance(500);
  if (answered === 'before') r.rejoin.answered(r.peer, probeSent);
  if (answered === 'after') r.rejoin.answered(r.peer, clock.monotonic());
  await hearing(60_000);
  return r.asked.length;
}

test('a held-back exchange whose peer then answered a probe sent before it was heard is not made', async () => {
  assert.is(await heldBackFor('before'), 1);
  assert.is(await heldBackFor('after'), 2, 'an answer to a probe sent after it was heard refutes nothing');
  assert.is(await heldBackFor('none'), 2, 'still made when the bound allows');
});

test('a probe that timed out on a late loop asks a digest, not a summary; one a later probe answered, nothing', async () => {
  const clock = new FakeClock(0, undefined, 1);
  const r = rejoinOf(clock, { ms: 0 });
  r.rejoin.heard(r.peer, false);
  r.rejoin.unreachable(r.peer, false);
  r.rejoin.heard(r.peer, true); // lost on those timeouts, in this life
  await clock.advance(1);
  assert.is(r.digests.length, 1, 'a digest of the view asked (unanswered here: no summary either)');
  r.rejoin.unreachable(r.peer, true);
  r.rejoin.answered(r.peer, clock.monotonic());
  r.rejoin.heard(r.peer, false);
  await clock.advance(1);
  assert.is(r.asked.length, 0);
  assert.is(r.digests.length, 1);
  r.rejoin.unreachable(r.peer, false);
  r.rejoin.unreachable(r.peer, true); // one of them was evidence
  r.rejoin.heard(r.peer, false);
  assert.is(r.asked.length, 1);
});

test('a late loop’s doubt asks the summary only if the neighbour’s digest of its view differs', async () => {
  const held = [
    { name: 'a', incarnation: 1, state: 'alive' as const },
    { name: 'me', incarnation: 1, state: 'alive' as const },
  ];
  for (const [digest, summaries] of [
    [viewDigest({ agents: () => held as AgentInfo[] }), 0],
    [viewDigest({ agents: () => [held[1]] as AgentInfo[] }), 1],
  ]) {
    const clock = new FakeClock(0, undefined, 1);
    const r = rejoinOf(clock, { ms: 0 }, digest);
    r.rejoin.heard(r.peer, false);
    r.rejoin.unreachable(r.peer, false);
    r.rejoin.heard(r.peer, false);
    await clock.advance(1);
    assert.is(r.digests.length, 1, 'one compare');
    assert.is(r.asked.length, summaries, summaries ? 'views differ: the summary' : 'views agree: no summary');
  }
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
