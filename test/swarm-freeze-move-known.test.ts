import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSeed } from './swarm/run-seed.js';

/**
 * attack14: swarm seeds (`--max-agents 60`) that fail since moves and freezes are drawn (moves.ts, freeze.ts), not
 * triaged to a fix this session. Each is a freeze or a move meeting other faults:
 * - 23000539 (3 agents): agent-1 froze while its catch-up of agent-0 was answered late; agent-0 then moved. At the
 *   resume the answer is read past its deadline, and no catch-up of agent-0 is asked again before the final check:
 *   `stale`, held at 0/0.
 * - 23000293, 23001526 (4 agents, freeze + move + partition): `stale` at the end (two origins a version or two
 *   behind at one viewer).
 * - 23000296 (6 agents, freeze + move + restart + crash): a `ghost` (a stopped agent alive); its `liveness` went
 *   with storm14's fixes (not traced which), as did 23001169's (an ended life lost: swarm-host-faults.test.ts).
 * Not yet told apart: a fault of the sync code, or of the simulated freeze (a frozen agent's peer service still
 * acts on a request at once, as a lagging one's does: a probe back is sent while it is frozen). Skipped unless
 * HERALD_KNOWN_FAILING=1; replay one with `node dist/test/swarm/main.js --host-faults --seed 23000539 --max-agents 60`.
 * The bounded swarm's seeds 295 and 914 (max 6 agents, `stale`) fail with host faults drawn too; not run here
 * (46, 179, 414 pass on e4b056e already; 475, 607, 608 since storm14).
 */
const KNOWN = [23000539, 23000293, 23001526, 23000296];
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
