import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSeed } from './swarm/run-seed.js';

/**
 * attack18's bounded swarm search with host faults (`--seconds 300 --max-agents 60 --first 29000000
 * --host-faults`, 2,192 seeds, 1 failing): seed 29000905 (3 agents), `stale`. agent-2 is frozen 5.6-16.6 s
 * while agent-0 changes (11.2 s) behind a cut agent-0 -> agent-2 until 17 s. Thawed, agent-2 hears the change's
 * hint (16.57 s) and starts its catch-up of agent-0 at ~16.6 s, into the cut, with a deadline its late loop has
 * stretched; the fetch stays `fetching` to the 32 s end of the quiet 15 s (instrumented: every later heartbeat and
 * a probe of agent-0 answered in 2 ms at 24.57 s find it fetching, so `want` does nothing). Catch-up's let-go
 * (hostf15, catchup.ts `askedWhereItLeft`) covers only an origin that answered at another endpoint; here it never
 * moved. Not this session's: the seed fails the same way on 19f8bbf. Now (origin-replica.ts `outlived`) a fetch
 * whose origin answers a probe at the endpoint it asks, once it has waited past its own deadline and every stall of
 * this agent's loop since it was asked, is let go and asked again: agent-2 holds agent-0's change after the probe.
 */
test('host-fault seed 29000905: a catch-up asked into a cut by a thawed host is asked again once the origin answers', async () => {
  const r = await runSeed(29000905, { maxAgents: 60, hostFaults: true });
  assert.equal(
    r.violations.map((v) => `${v.kind} ${v.detail}`),
    [],
  );
});

test.run();
