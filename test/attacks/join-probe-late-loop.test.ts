import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BulkSets } from '../../src/sync/bulk-sets.js';
import { JoinProbe } from '../../src/sync/join-probe.js';
import type { ProbeOutcome } from '../../src/sync/liveness-hooks.js';
import type { OriginReplica } from '../../src/sync/origin-replica.js';
import type { Peer } from '../../src/sync/peer-table.js';
import type { SyncContext } from '../../src/sync/sync-context.js';
import { FakeClock } from '../../src/util/clock.js';

/**
 * bulk22's join probe (join-probe.ts): a try that says nothing of the member (`lagged`) is asked again with twice
 * the deadline, three tries; catch-ups the summary names wait for the bulk answer, `until` at most (bulk-sets.ts),
 * a bound drawn once, at the first try, from the deadlines as this agent's late loop stretched them then. The first
 * probe goes before the loop's lateness is known (join-probe.ts): found late afterwards, the later tries' deadlines
 * are stretched, the bound is not, and the held catch-ups all go at once while the last try is still out, its
 * answer's bulk then sparing none of them (bulk22's overloaded real run: every held fetch released at the bound).
 * Measured: when the held catch-ups go, and when the join probe's tries are over, the loop late by `late` from
 * just after the first probe went (stretch x1, then x`late`), period 1 s, fetch deadline 2 s.
 *
 * FINDING (attackb22), fixed: x1 held to 10.5 s, tries over at 7 s (held); x2 held to 10.5 s, tries over at 13 s;
 * x3 tries over at 19 s. Now each try's hold raises the bound (BulkSets.holding), and a held catch-up whose timer
 * fires while the bound was raised waits again (catchup.ts): held until the tries are over, x1 7 s, x2 13 s, x3 19 s.
 *
 * s23-cold: a `lagged` try now asks the member's sets at once (join-probe.ts `askBulk`), the tries going on for the
 * summary: the held catch-ups go at that answer (here at once, 1 s, x1-x3 alike), no longer at the tries' end; the
 * member's page (`{ sets: [] }`, it was `{}`), the pages' counter and the member's and the held origin's states
 * are what that ask reads.
 */
async function run(late: number): Promise<{ heldUntil: number; triesOver: number }> {
  const clock = new FakeClock();
  let stretch = 1;
  const releases: number[] = [];
  const member = {
    name: 'agent-0',
    replica: { heldVersion: () => 0, failures: 0, catchup: { kind: 'waiting' } } as unknown as OriginReplica,
    endpoint: { address: '10.0.0.1', port: 1 },
  };
  const s = {
    c: {
      clock,
      peers: { sets: () => Promise.resolve({ sets: [] }) },
      metrics: { bulkAsks: { inc: () => {} }, catchupRequests: { inc: () => {} } },
    },
    cfg: { livenessPeriodMs: 1000, fetchTimeoutMs: 2000, incarnation: 5 },
    running: () => true,
    peers: { get: () => member },
  } as unknown as SyncContext;
  const bulk = new BulkSets(s, {
    released: () => releases.push(clock.monotonic()),
    verify: () => {},
    confirmed: () => false,
    keyed: false,
    deadline: (ms) => ms * stretch,
  });
  const probe = (_: Peer, periods: number) =>
    new Promise<ProbeOutcome>((done) => clock.setTimeout(() => done('lagged'), periods * 1000 * stretch));
  const join = new JoinProbe(s, bulk, probe, { joined: () => {}, stretch: (ms) => ms * stretch });
  join.start(member as unknown as Peer);
  stretch = late;
  // A summary names an origin held nothing of: its catch-up waits this long for the bulk answer.
  const origin = { previous: undefined, failures: 0, heldVersion: () => 0, catchup: { kind: 'waiting' } };
  // A held catch-up asks again when its wait is over (catchup.ts): it goes once the bound says no more.
  let heldUntil = Infinity;
  for (let t = 0; t < 60_000 && releases.length === 0; t += 100) {
    await clock.advance(100);
    if (heldUntil === Infinity && bulk.waitMs(origin as unknown as OriginReplica, 'summary') === 0)
      heldUntil = clock.monotonic();
  }
  return { heldUntil: Math.min(heldUntil, releases[0] ?? Infinity), triesOver: releases[0] ?? Infinity };
}

test('held catch-ups wait while the join probe tries, its loop found late after the first try went', async () => {
  for (const late of [1, 2, 3]) {
    const { heldUntil, triesOver } = await run(late);
    console.log(
      `  loop late x${late}: held catch-ups go at ${heldUntil} ms, the join probe's tries over at ${triesOver}`,
    );
    assert.ok(heldUntil >= triesOver, `x${late}: held catch-ups went at ${heldUntil} ms, the tries ended ${triesOver}`);
  }
});

test.run();
