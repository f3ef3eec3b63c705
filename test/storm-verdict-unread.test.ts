import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario } from './swarm/run-seed.js';
import { multicastSite, type Scenario } from './swarm/scenario.js';

/**
 * A stalled monitor reads a helper's verdict only at its stall's end, with what else reached it in the stall
 * (swarm seed 24001665: 194 agents, a storm over 140 of them in 3 processes of 2,419 ms turns). A monitor in one
 * process asked helpers about a subject in another; the subject's turn came, it answered the helpers' probes
 * too late and sent its monitor a datagram; the verdict came after it. A real loop reads both sockets in one
 * turn and weighs the verdict on the next (IndirectChecks.verdict): the datagram is proof of life. The
 * simulated service acted on the verdict the moment it arrived, mid-stall, so its weighing came first and
 * the late monitor told the site of a live agent: 5 late monitors, 10 notices, every agent probing.
 */
const agents = multicastSite(40);
/** 28 of the 40 stalled together, dealt round the processes (storm.ts), the rest on time. */
const stormed = agents.filter((_, i) => (i * 7919) % 100 < 70).map((a) => a.name);

const storm = (stallMs: number, processes: number): Scenario => ({
  seed: 7,
  heartbeatMs: 1000,
  agents,
  faultMs: 30_000,
  quietMs: 20_000,
  faults: [{ at: 2747, until: 13_377, kind: 'storm', agents: stormed, stallMs, everyMs: stallMs, processes }],
});

test('late monitors of live agents stalled in other processes: no notice from a late monitor, no loss', async () => {
  for (const [stallMs, processes] of [
    [2000, 3],
    [2419, 2],
    [2419, 3],
  ]) {
    const result = await runScenario(storm(stallMs, processes));
    const late = Object.entries(result.noticesSent).filter(([name]) => stormed.includes(name));
    console.log(`    ${processes} processes, turns of ${stallMs} ms: notices ${JSON.stringify(result.noticesSent)}`);
    assert.equal(result.violations, [], `${stallMs} ms × ${processes}`);
    assert.equal(late, [], `${stallMs} ms × ${processes}: late monitors' notices about live agents`);
  }
});

test.run();
