import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSeed } from './swarm/run-seed.js';

/**
 * attack14: swarm seeds (`--max-agents 60`) that fail since moves and freezes are drawn (moves.ts, freeze.ts), not
 * triaged to a fix yet. A freeze or a move meeting other faults:
 * - 23000296 (6 agents, freeze + move + restart + crash): a `ghost` (a stopped agent alive); its `liveness` went
 *   with storm14's fixes. hostf15: agent-4, frozen 41 s, resumes holding agent-0 at the address agent-0 left
 *   before it crashed elsewhere; its check probes the vacant old address with deadlines its late loop stretched
 *   to 8 s and then 16 s, so agent-0 is lost past the 15 s quiet end (see docs/benchmarks.md, hostf15).
 * 23000539, 23000293, 23001526 (and the bounded swarm's 295, 914) pass since hostf15 (swarm-host-faults.test.ts).
 * Skipped unless HERALD_KNOWN_FAILING=1; replay one with `node dist/test/swarm/main.js --host-faults --seed
 * 23000296 --max-agents 60`.
 */
const KNOWN = [23000296];
const NAME = 'known failing: swarm seeds where a freeze or a move meets other faults hold every invariant';

async function replay(): Promise<void> {
  const failing: string[] = [];
  for (const seed of KNOWN) {
    const r = await runSeed(seed, { maxAgents: 60, hostFaults: true });
    if (!r.ok) failing.push(`${seed}: ${r.kinds.join(', ')}`);
  }
  assert.equal(failing, []);
}

if (process.env.HERALD_KNOWN_FAILING === '1') test(NAME, replay);
else test.skip(NAME, replay);

test.run();
