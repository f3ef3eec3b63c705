import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSeed } from './swarm/run-seed.js';

/**
 * Found by the 30-minute swarm on this session's final code (2 of 1,584 seeds): the notice-storm invariant
 * counts 6-8 lost notices from late agents, over its bound of 4 per trouble. They are indirect probes' notices:
 * a late monitor asked an on-time helper, whose probe of a stormed (live, late-answering) subject went
 * unanswered, and relayed its verdict. No agent was lost (receivers probe first). The evidence is an on-time
 * prober's, like an on-time monitor's early notice, which the invariant allows per stormed agent; whether the
 * invariant should count such notices as the helper's, or a late monitor should not relay a verdict about a
 * stormed subject, is open. Known-failing: skipped unless HERALD_KNOWN_FAILING=1 (two sites of 134 and 187).
 */
const name = "a late monitor's verdict-backed notices stay within the storm's bound (seeds 17000707, 17001323)";

async function seeds(): Promise<void> {
  for (const seed of [17000707, 17001323]) {
    const result = await runSeed(seed, { maxAgents: 200 });
    assert.equal(result.violations, [], `seed ${seed}`);
  }
}

if (process.env.HERALD_KNOWN_FAILING === '1') test(name, seeds);
else test.skip(name, seeds);

test.run();
