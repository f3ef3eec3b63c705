import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { percentile } from './swarm/scale.js';
import { rareSite } from './helpers/rare-site.js';
import type { ScaleSite, Watch } from './swarm/scale-site.js';

/** The bench's change phase (bench/scale/changes.ts): 20 changes 50 ms apart, each given 20 s. */
const BURST = 20;
const APART_MS = 50;
const GIVE_UP_MS = 20_000;

/** A burst of BURST changes on distinct origins, APART_MS apart, each watched at every other agent for GIVE_UP_MS. */
async function burst(site: ScaleSite): Promise<{ times: number[]; undelivered: number }> {
  const origins = [...site.live].sort(() => site.sim.random() - 0.5).slice(0, BURST);
  const watches: Watch[] = [];
  for (const origin of origins) {
    watches.push(site.watchVersion(origin, await site.change(origin)));
    await site.sim.clock.advance(APART_MS);
  }
  const first = watches[0].since;
  while (watches.some((w) => !w.done()) && site.now() - first < GIVE_UP_MS + BURST * APART_MS) {
    await site.sim.clock.advance(50);
    for (const w of watches) if (site.now() - w.since <= GIVE_UP_MS) w.sweep(site.now());
  }
  // A delivery an event reported past its change's GIVE_UP_MS counts as the bench counts it: undelivered.
  const all = watches.flatMap((w) => [...w.times.values()]);
  const times = all.filter((t) => t <= GIVE_UP_MS);
  return { times, undelivered: watches.reduce((n, w) => n + w.missing, 0) + all.length - times.length };
}

/** `count` bursts at 30 % loss, each `pauseMs` after the last was delivered or given up (0: back to back, as the bench). */
async function bursts(
  site: ScaleSite,
  count: number,
  pauseMs: number,
): Promise<{ times: number[]; undelivered: number }> {
  site.sim.network.loss = 0.3;
  let undelivered = 0;
  const times: number[] = [];
  for (let b = 0; b < count; b++) {
    const r = await burst(site);
    undelivered += r.undelivered;
    times.push(...r.times);
    if (pauseMs > 0) await site.sim.clock.advance(pauseMs);
  }
  return { times, undelivered };
}

/**
 * The simulator's change phases make one change at a time, so a host's subjects never owe more than 8 ring hints
 * and each change rides its 6 rounds; the bench makes 20 within a second. Then each rides one round in 3, and
 * was dropped at the 8-period end of the burst after 2-4 rounds (hints.ts): a host whose 2 subjects' 4-8 hinting
 * datagrams were all lost waited for the origin's own heartbeat, minutes away here. At 200 agents on real
 * sockets one change of 20 at 30 % loss went undelivered in one run of four.
 */
test('a burst of 20 changes at 30 % loss reaches every agent within 20 s', async () => {
  const site = await rareSite(23);
  try {
    const { times, undelivered } = await bursts(site, 3, 5_000);
    const p99 = percentile(times, 99);
    console.log(`  3 bursts of ${BURST} changes to 99 agents at 30 % loss: p99 ${p99} ms, ${undelivered} undelivered`);
    assert.is(undelivered, 0, 'deliveries that never arrived within 20 s');
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

/**
 * The bench's change phases back to back (issue 18, miss13): the next burst begins as soon as every change of the
 * last was delivered, so a subject still owes the last burst's carries when the next comes. With 8 hints a round,
 * 40 owed rode one round in 5: at 200 agents on real sockets a viewer's 2 subjects carried a change 4 and 3 times
 * in the phase's 20 s, not 6 each, and it went undelivered; and a change's first carry came up to 3 rounds after
 * the subject had it, the 30 % phases' p99 tail (1,921 ms in one). A round now takes every owed carry up to 24.
 */
test('bursts of 20 back to back at 30 % loss: every change everywhere, p99 within 1.5 s', async () => {
  const site = await rareSite(231);
  try {
    const { times, undelivered } = await bursts(site, 4, 0);
    const p99 = percentile(times, 99) ?? Infinity;
    console.log(
      `  4 bursts of ${BURST} back to back to 99 agents at 30 % loss: p99 ${p99} ms, ${undelivered} undelivered`,
    );
    assert.is(undelivered, 0, 'deliveries that never arrived within 20 s');
    assert.ok(p99 <= 1500, `p99 ${p99} ms`);
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test.run();
