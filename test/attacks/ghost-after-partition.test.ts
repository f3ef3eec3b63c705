import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario } from '../swarm/run-seed.js';
import { multicastSite } from '../swarm/scenario.js';

/**
 * Attack finding (attack9, 2026-11-27; older than that session's code): at 200 agents, an agent cut off from
 * the site from 14 s to 30 s still holds agent-7, which crashed at 12 s, as alive 70 s after the partition
 * healed. It missed the monitors' notice (sent at ~14 s, as the partition began), nothing repeated a notice
 * after a heal, and its own backstop of a stretched peer is slow at 200 agents. Now an agent that hears the
 * site again after a cut-off asks a ring neighbour for its view and checks the peers it holds alive that the
 * neighbour does not (src/sync/rejoin.ts): agent-50 loses agent-7 0.2 s after the heal. A 200-agent simulation
 * of 100 s (~30 s of wall time); test/sync-rejoin.test.ts is the small one.
 */
const name = 'an agent partitioned while a peer crashed loses that peer soon after the partition heals';

async function ghost(): Promise<void> {
  const agents = multicastSite(200);
  const result = await runScenario({
    seed: 21,
    heartbeatMs: 1000,
    agents,
    faultMs: 40_000,
    quietMs: 60_000,
    faults: [
      { at: 12_000, kind: 'crash', agent: 'agent-7' },
      { at: 14_000, until: 30_000, kind: 'partition', side: ['agent-50'] },
    ],
  });
  assert.equal(result.violations, [], 'agent-50 still holds the crashed agent-7 alive after the heal');
}

test(name, ghost);

test.run();
