import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SYNC_LIMITS } from '../../src/sync/config.js';
import { SummaryAdoption } from '../../src/sync/summary-adoption.js';
import type { SyncContext } from '../../src/sync/sync-context.js';
import { FakeClock } from '../../src/util/clock.js';

/**
 * Adopted names past the unverified places wait, and are remembered as adopted so that their first failed
 * request drops them. Names that leave the waiting room without being admitted (expired after two minutes,
 * or heard first-hand) must not fill that memory for good.
 */
test('an adopted name that waits is still known as adopted after 1,024 earlier ones never came back', () => {
  const context = { c: { clock: new FakeClock(0), onLink: () => true } } as unknown as SyncContext;
  const adoption = new SummaryAdoption(context);
  for (let i = 0; i < SYNC_LIMITS.peers; i++) adoption.wait(`expired-${i}`);
  adoption.wait('ghost');
  assert.ok(adoption.admitted('ghost'), 'admitted from the waiting room as an adopted name');
  assert.not.ok(adoption.admitted('ghost'), 'once');
});

test.run();
