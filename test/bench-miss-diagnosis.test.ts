import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Deliveries } from '../bench/harness.js';
import { settleUnseen } from '../bench/scale/miss-diagnosis.js';
import type { BenchCluster } from '../bench/system.js';
import type { SyncView } from '../src/sync/sync-view.js';

/**
 * The scale step's mirror follows directory events, and a directory applies a change without one while it
 * holds the origin `lost`: a run at 30 % loss (miss12, 05:10 UTC) counted 2 changes undelivered whose every
 * viewer held the version, the origin `lost`. When the phase gives up, the agents behind are asked: those
 * holding the version are delivered (counted apart by state), the others stay undelivered.
 */
test('a change a viewer holds while it holds the origin lost is not counted undelivered', async () => {
  const names = ['agent-000', 'agent-001', 'agent-002'];
  // agent-001 applied version 2 while holding agent-000 lost (no event, the mirror still reads 1); agent-002 did not.
  const directories: Record<number, { version: number; state: string }> = {
    1: { version: 2, state: 'lost' },
    2: { version: 1, state: 'alive' },
  };
  const c = {
    names,
    held: () => 1,
    inspect: (i: number) => Promise.resolve({ origin: { ...directories[i] } } as unknown as SyncView),
  } as unknown as BenchCluster;
  const deliveries = new Deliveries(c);
  deliveries.expect(0, 2, 0);
  assert.equal(await settleUnseen(c, deliveries), { lost: 1 });
  assert.is(deliveries.undelivered(), 1, 'still undelivered: agent-002 does not hold it');
  assert.equal(deliveries.behind(), [{ origin: 'agent-000', version: 2, viewers: [2] }]);
});

test.run();
