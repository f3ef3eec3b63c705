import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { now } from '../bench/harness.js';
import { crashTimes } from '../bench/scale/crash-times.js';
import type { BenchCluster } from '../bench/system.js';

/**
 * Attack (attack11) on the scale step's crash figure. A crash in a child process replies when its agent has
 * stopped: up to 1 s (site-worker.ts waits that long for a loaded server), after a loop that may be seconds late
 * at one agent a process. The clock started at the reply, so every viewer that lost the agent meanwhile was
 * counted at ~0 ms. Here all 4 viewers lose it 600 ms after its sockets close and the reply comes at 800 ms.
 */
function site(reply: 'closed-at' | 'none'): BenchCluster {
  let closed = Infinity;
  const names = ['agent-0', 'agent-1', 'agent-2', 'agent-3', 'agent-4'];
  return {
    names,
    state: () => (now() - closed >= 600 ? 'lost' : 'alive'),
    async crash() {
      closed = now();
      const at = Date.now();
      await new Promise((r) => setTimeout(r, 800));
      return reply === 'closed-at' ? at : undefined;
    },
  } as unknown as BenchCluster;
}

test('the crash clock starts when the sockets closed, not when the child replied', async () => {
  const { p99, undetected } = await crashTimes(site('closed-at'), 5_000);
  assert.is(undetected, 0);
  assert.ok(p99 >= 580 && p99 <= 750, `crash p99 ${p99.toFixed(0)} ms, every viewer lost it 600 ms after`);
});

test('without the moment from the child, the clock starts when the crash was ordered', async () => {
  const { p99 } = await crashTimes(site('none'), 5_000);
  assert.ok(p99 >= 580 && p99 <= 750, `crash p99 ${p99.toFixed(0)} ms, every viewer lost it 600 ms after`);
});

test.run();
