import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BulkSets } from '../../src/sync/bulk-sets.js';
import { JoinProbe } from '../../src/sync/join-probe.js';
import type { ProbeOutcome } from '../../src/sync/liveness-hooks.js';
import type { OriginReplica } from '../../src/sync/origin-replica.js';
import type { Peer } from '../../src/sync/peer-table.js';
import type { SyncContext } from '../../src/sync/sync-context.js';
import { FakeClock } from '../../src/util/clock.js';

/** Origins the member's summary names, held nothing of by the newcomer. */
const NAMED = 40;

/**
 * s23 attackb, cold23's early bulk ask (join-probe.ts: the member's sets asked at the first `lagged` or `heard` try).
 * A `lagged` try's answer is dropped with its timeout (Liveness.probe): the summary it carried is not learnt. So at
 * a newcomer's first try, lagged on its own late start, nothing the summary names is held back yet; the bulk ask
 * then finds nothing waiting (`pays`: `nothing-waiting`), asks no page, ends the hold, and is spent, once a life.
 * The next try answers with the summary, and every origin it names is fetched one by one at its origin: what the
 * bulk catch-up exists to spare (N - 1 requests of a newcomer; bulk22 asked after the try that answered).
 */
const test = suite("attack: a lagged first join try before the summary spends the newcomer's bulk ask");

test('the summary of the try after a lagged one is still asked of the member in bulk', async () => {
  const clock = new FakeClock();
  const asks: string[] = [];
  const released: string[] = [];
  let pages = 0;
  const failures: string[] = [];
  const member = { name: 'agent-0', replica: { heldVersion: () => 0, failures: 0, catchup: { kind: 'waiting' } } };
  const s = {
    c: {
      clock,
      peers: {
        sets: () => {
          pages += 1;
          return new Promise((done) => clock.setTimeout(() => done({ sets: [] }), 100));
        },
      },
      metrics: {
        bulkAsks: { inc: (l: { result: string }) => asks.push(l.result) },
        catchupRequests: { inc: () => {} },
      },
      // A failed bulk ask is logged at debug (BulkSets.ask): kept, so that the test sees it.
      logger: { debug: (o: { err: string }) => failures.push(o.err) },
    },
    cfg: { livenessPeriodMs: 1000, fetchTimeoutMs: 2000, incarnation: 5 },
    running: () => true,
    peers: { get: () => member, values: () => [member] }, // the member alone: no second one older
  } as unknown as SyncContext;
  const bulk = new BulkSets(s, {
    released: (by) => released.push(by),
    verify: () => {},
    confirmed: () => false,
    keyed: true,
    deadline: (ms) => ms,
  });
  let tries = 0;
  const waited: number[] = [];
  const probe = (_: Peer, periods: number) =>
    new Promise<ProbeOutcome>((done) =>
      clock.setTimeout(() => {
        // The first try's answer is read past its deadline's timer: lagged, its summary dropped with it.
        if (++tries === 1) return done('lagged');
        // The second answers with the summary: learnt (learnOf) before the probe settles, each name's catch-up asks
        // how long to wait for the member's sets.
        for (let i = 1; i <= NAMED; i++) {
          const r = { previous: undefined, failures: 0, heldVersion: () => 0, catchup: { kind: 'waiting' } };
          waited.push(bulk.waitMs({ ...r, left: false } as unknown as OriginReplica, 'summary'));
        }
        done('alive');
      }, periods * 500),
    );
  const join = new JoinProbe(s, bulk, probe, { joined: () => {}, stretch: (ms) => ms });
  join.start(member as unknown as Peer);
  for (let t = 0; t < 20_000; t += 100) await clock.advance(100);
  const held = waited.filter((ms) => ms > 0).length;
  console.log(`  asks ${asks.join(', ')}; ${pages} pages; ${held} of ${NAMED} named held for the bulk answer`);
  assert.equal(failures, [], 'the bulk ask did not fail');
  assert.ok(asks.includes('asked'), `the member's sets were never asked (${asks.join(', ')})`);
  assert.is(pages, 1, 'one bulk page asked of the member');
  assert.is(held, NAMED, 'what the summary named waits for the bulk answer, not fetched one by one at once');
});

test.run();
