import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSeed } from './swarm/run-seed.js';

/**
 * Found by the 30-minute swarm (2 of 1,584 seeds, sites of 134 and 187): 8 and 10 lost notices, 6-8 from late
 * monitors over the storm's bound of 4. Each relayed an on-time helper's verdict (indirect probes) about a
 * stormed, live subject: the simulated monitor took the verdict the moment it came, mid-stall, before the
 * subject's heartbeat held in the same stall was read. Each notice drew ~115 probes of a stalled host; nobody
 * was lost. Fixed: a verdict is weighed on the monitor's own loop, after what reached it first
 * (indirect-checks.ts `verdict`; test/indirect-verdict-turn.test.ts holds the rule): now 0 and 2 notices.
 */
test('a late monitor sends no notice on a verdict about a live stormed agent (seeds 17000707, 17001323)', async () => {
  for (const seed of [17000707, 17001323]) {
    const result = await runSeed(seed, { maxAgents: 200 });
    assert.equal(result.violations, [], `seed ${seed}`);
  }
});

test.run();
