import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario } from './swarm/run-seed.js';
import { multicastSite } from './swarm/scenario.js';
import { budgetStretchedLike } from './swarm/stretched-site.js';

/**
 * After a partition heals, an agent that was cut off while a peer crashed loses that peer at once, not by its
 * backstop (5 of the peer's intervals: ~45 s of silence at 100 agents). It missed the monitors' notice, sent
 * while it was cut off; on hearing the site again it asks a ring neighbour for its view and checks the peers it
 * holds alive that the neighbour does not (src/sync/rejoin.ts). The final check comes 12 s after the heal, well
 * before any backstop: before the change, agent-50 (alone cut off) and the 50 agents of the far half each
 * still held agent-7 alive there; the half losing it by their backstops up to 33 s after the heal.
 * The lone agent's case replays on 40 agents with the heartbeat intervals of 100 (stretched-site.ts): the
 * backstop is as slow, at a third of the cost, and without the view exchange it still fails. The half-site case
 * stays at 100: stretched, its far side of 20 lost agent-7 4.5 s after the heal (over its bound).
 */
const SITE = 100;
const HEAL = 20_000;

async function crashThenPartition(
  side: string[],
  agents = SITE,
): Promise<{ violations: unknown[]; lostAfterHeal: number[] }> {
  const result = await runScenario(
    {
      seed: 21,
      heartbeatMs: 1000,
      agents: multicastSite(agents),
      heartbeatBudget: agents === SITE ? undefined : budgetStretchedLike(agents, SITE),
      faultMs: HEAL,
      quietMs: 12_000,
      faults: [
        { at: 12_000, kind: 'crash', agent: 'agent-7' },
        { at: 14_000, until: HEAL, kind: 'partition', side },
      ],
    },
    true,
  );
  // When each agent of the far side lost agent-7 (the trace's `[viewer] agent-7 lost` lines).
  const lostAfterHeal = (result.trace ?? []).flatMap((line) => {
    const m = /^\s*([\d.]+)s \[(agent-\d+)\] agent-7 lost/.exec(line);
    return m && side.includes(m[2]) ? [Math.round(Number(m[1]) * 1000) - HEAL] : [];
  });
  return { violations: result.violations, lostAfterHeal };
}

test('an agent cut off while a peer crashed loses it within a second of the heal', async () => {
  const { violations, lostAfterHeal } = await crashThenPartition(['agent-30'], 40);
  assert.equal(violations, [], 'no one holds agent-7 alive 12 s after the heal');
  assert.equal(lostAfterHeal.length, 1);
  assert.ok(lostAfterHeal[0] >= 0 && lostAfterHeal[0] < 1000, `agent-30 lost it ${lostAfterHeal[0]} ms after`);
});

test('half the site cut off while a peer crashed loses it within a second of the heal', async () => {
  const side = Array.from({ length: SITE / 2 }, (_, i) => `agent-${SITE / 2 + i}`);
  const { violations, lostAfterHeal } = await crashThenPartition(side);
  assert.equal(violations, [], 'no one holds agent-7 alive 12 s after the heal');
  assert.equal(lostAfterHeal.length, side.length, 'every agent of the far side lost it after the heal');
  assert.ok(Math.max(...lostAfterHeal) < 1000, `the last lost it ${Math.max(...lostAfterHeal)} ms after the heal`);
});

test.run();
