import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario } from './swarm/run-seed.js';
import { drawScenario, type Scenario, multicastSite } from './swarm/scenario.js';
import { STORM_MIN_AGENTS } from './swarm/storm.js';

/**
 * The swarm's storm (issue 18's 200-agent cold start on real sockets): many agents late together, loops and
 * answers, in processes taking turns, on a site large enough that notices are sent.
 */
const agents = multicastSite(40);

const storm = (stallMs: number, everyMs: number, crash?: string): Scenario => ({
  seed: 5,
  heartbeatMs: 1000,
  agents,
  faultMs: 30_000,
  quietMs: 30_000,
  faults: [
    { at: 5000, until: 25_000, kind: 'storm', agents: agents.map((a) => a.name), stallMs, everyMs, processes: 2 },
    ...(crash ? [{ at: 10_000, kind: 'crash' as const, agent: crash }] : []),
  ],
});

/** Before ac23ec8 the late probers multicast 32 notices about live peers here (the notice-storm invariant). */
test('a storm of 40 agents in two processes of 1.5 s turns: no false notice, no false loss', async () => {
  const result = await runScenario(storm(1500, 1500));
  assert.equal(result.violations, []);
  assert.equal(result.noticesSent, {});
});

test('a crash in a storm is lost by every running agent, with a monitor’s notices only', async () => {
  const result = await runScenario(storm(1000, 1100, 'agent-3'), true);
  assert.equal(result.violations, []);
  const lost = result.trace!.filter((l) => / agent-3 lost \(/.test(l));
  assert.is(lost.length, agents.length - 1, lost.join('\n'));
  const sent = Object.values(result.noticesSent).reduce((a, b) => a + b, 0);
  assert.ok(sent <= 4, `notices: ${JSON.stringify(result.noticesSent)}`);
});

/**
 * Finding (swarm seed 13004103, minimised to its storm; a regression case): turns of 512 ms, just over the
 * liveness tick's half period. The tick was re-armed at the end of each turn for 500 ms and so fired 12 ms
 * late every time: the loop, busy all along, was judged on time (local health 0), its probes' deadlines were
 * not stretched, their timeouts not excused, and its early notices went out about live peers: 8 here, 20 in
 * the seed. Fixed: the tick also times the next turn of the loop (a 1 ms timer).
 */
test('a storm of 512 ms turns (just over the liveness tick) sends no false notice', async () => {
  const result = await runScenario(storm(512, 512));
  assert.equal(result.noticesSent, {});
});

test('storms are drawn on their own stream, only on sites of 24 agents or more', () => {
  let large = 0;
  let stormy = 0;
  for (let seed = 13_000_000; seed < 13_004_000; seed++) {
    const s = drawScenario(seed, { maxAgents: 200 });
    const drawn = s.faults.filter((f) => f.kind === 'storm');
    if (s.agents.length < STORM_MIN_AGENTS) assert.is(drawn.length, 0, `seed ${seed}`);
    else large += 1;
    stormy += drawn.length;
  }
  assert.ok(stormy > large / 4 && stormy < (3 * large) / 4, `${stormy} storms on ${large} large sites`);
  const small = drawScenario(1001850, { maxAgents: 6 });
  assert.not.ok(
    small.faults.some((f) => f.kind === 'storm'),
    'the bounded swarm (6 agents at most) draws none',
  );
});

test.run();
