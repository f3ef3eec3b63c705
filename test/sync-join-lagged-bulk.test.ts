import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BulkSets } from '../src/sync/bulk-sets.js';
import { JoinProbe } from '../src/sync/join-probe.js';
import type { ProbeOutcome } from '../src/sync/liveness-hooks.js';
import type { OriginReplica } from '../src/sync/origin-replica.js';
import type { Peer } from '../src/sync/peer-table.js';
import type { SyncContext } from '../src/sync/sync-context.js';
import { FakeClock } from '../src/util/clock.js';

/** The member's sets page comes back this late (a busy loop's answer, read in time). */
const PAGE_MS = 300;

/**
 * s23-cold: at real keyed 100 agents over 5 s (load ~7), 102 join probes came back `lagged` and 49 `heard`, each tried
 * again with twice the deadline, and the bulk was asked only once a try settled otherwise: 955 of 1,984 sets the
 * join's member gave were first held more than 16 s after the newcomer knew of their lives, and 1,316 held catch-ups
 * went one by one at the hold. A `lagged` probe is this agent's own late loop, a `heard` one the member heard while
 * its answer was out: neither says the member does not answer. Here every try comes back `lagged` (its answer read
 * past the deadline's timer, as on a loaded machine), while the member's sets page answers in PAGE_MS: when do the
 * catch-ups the summary named stop waiting, and what released them.
 */
async function run(): Promise<{ releasedAt: number; by: string; pages: number; asks: string[] }> {
  const clock = new FakeClock();
  const released: [number, string][] = [];
  const asks: string[] = [];
  let pages = 0;
  const member = { name: 'agent-0', replica: { heldVersion: () => 0, failures: 0, catchup: { kind: 'waiting' } } };
  const held = { previous: undefined, failures: 0, heldVersion: () => 0, catchup: { kind: 'waiting' }, left: false };
  const s = {
    c: {
      clock,
      peers: {
        sets: () => {
          pages += 1;
          return new Promise((done) => clock.setTimeout(() => done({ sets: [] }), PAGE_MS));
        },
      },
      metrics: {
        bulkAsks: { inc: (l: { result: string }) => asks.push(l.result) },
        catchupRequests: { inc: () => {} },
      },
    },
    cfg: { livenessPeriodMs: 1000, fetchTimeoutMs: 2000, incarnation: 5 },
    running: () => true,
    peers: { get: () => member },
  } as unknown as SyncContext;
  const bulk = new BulkSets(s, {
    released: (by) => released.push([clock.monotonic(), by]),
    verify: () => {},
    confirmed: () => false,
    keyed: true,
    deadline: (ms) => ms,
  });
  const probe = (_: Peer, periods: number) =>
    new Promise<ProbeOutcome>((done) => clock.setTimeout(() => done('lagged'), periods * 1000));
  const join = new JoinProbe(s, bulk, probe, { joined: () => {}, stretch: (ms) => ms });
  join.start(member as unknown as Peer);
  // A summary named an origin held nothing of: its catch-up waits for the member's sets.
  bulk.waitMs(held as unknown as OriginReplica, 'summary');
  for (let t = 0; t < 30_000 && released.length === 0; t += 100) await clock.advance(100);
  await clock.advance(10_000); // the tries run out
  const [releasedAt, by] = released[0] ?? [Infinity, 'never'];
  return { releasedAt, by, pages, asks };
}

test("a join probe that comes back `lagged` asks the member's sets then, not after its last try", async () => {
  const r = await run();
  console.log(
    `  held catch-ups released at ${r.releasedAt} ms by the ${r.by}; ${r.pages} pages; asks ${r.asks.join(', ')}`,
  );
  assert.is(r.by, 'answer', 'the member answered the bulk ask');
  assert.ok(r.releasedAt <= 1000 + PAGE_MS + 100, `held until ${r.releasedAt} ms`);
  assert.is(r.pages, 1, 'the member asked once');
  assert.is(r.asks.filter((a) => a === 'asked').length, 1, 'one bulk ask');
});

test.run();
