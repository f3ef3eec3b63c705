import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHeraldMetrics } from '../src/metrics/herald-metrics.js';
import { LocalHealth, MAX_HEALTH_MULTIPLIER } from '../src/sync/local-health.js';
import { FakeClock } from '../src/util/clock.js';
import type { Scenario } from './swarm/scenario.js';
import { runScenario } from './swarm/run-seed.js';

const PERIOD = 1000;

test('a healthy prober keeps its deadlines; a late loop stretches them, bounded, and forgets', async () => {
  const clock = new FakeClock();
  const health = new LocalHealth(clock, PERIOD);
  health.timerFired(clock.monotonic() - 30); // ordinary jitter
  assert.is(health.stretch(PERIOD), PERIOD);
  health.timerFired(clock.monotonic() - 2600); // a timer 2.6 s late: five half-periods
  assert.is(health.score(), 5);
  assert.is(health.stretch(PERIOD), 6 * PERIOD, 'long enough to read an answer that waited 2.6 s');
  health.timerFired(clock.monotonic() - 60_000);
  assert.is(health.stretch(PERIOD), MAX_HEALTH_MULTIPLIER * PERIOD, 'Lifeguard bound: ×8');
  await clock.advance(11 * PERIOD);
  health.timerFired(clock.monotonic());
  assert.is(health.score(), 0, 'ten periods on time and the lag is forgotten');
});

test('unanswered probes: the network’s while the loop is on time; beside a little lag, most of them is this agent', () => {
  const clock = new FakeClock();
  const health = new LocalHealth(clock, PERIOD);
  for (let i = 0; i < 16; i++) health.probed(false);
  assert.is(health.score(), 0, 'a partition: every probe timed out, every timer on time');
  health.timerFired(clock.monotonic() - 300); // 300 ms late: no stretch by itself
  assert.is(health.score(), MAX_HEALTH_MULTIPLIER - 1, 'all unanswered, and the loop lags');
  for (let i = 0; i < 16; i++) health.probed(true);
  health.probed(false);
  health.probed(false);
  assert.is(health.score(), 0, 'two timeouts (a vanished host probed twice) are not 100 %');
  for (let i = 0; i < 14; i++) health.probed(true);
  assert.is(health.score(), 0, '2 of 16');
  for (let i = 0; i < 16; i++) health.probed(false);
  assert.is(health.score(), MAX_HEALTH_MULTIPLIER - 1);
  for (let i = 0; i < 12; i++) health.probed(true);
  assert.is(health.score(), 0, '4 of 16 unanswered: a quarter, no stretch');
});

test('a timeout is excused when its deadline fired over a period late, or the loop’s turns outlast it', async () => {
  const clock = new FakeClock();
  const health = new LocalHealth(clock, PERIOD);
  await clock.advance(5000);
  assert.not.ok(health.timedOut(clock.monotonic() - 200, PERIOD), 'fired 200 ms late: the answer was not there');
  assert.ok(health.timedOut(clock.monotonic() - 1500, 6 * PERIOD), 'fired 1.5 s late: the answer may have sat unread');
  assert.is(health.score(), 3, 'and the lateness counts as lag');
  await clock.advance(5000);
  assert.ok(health.timedOut(clock.monotonic() - 100, 4 * PERIOD), 'on time, but turns of 1.5 s: 3 of them outlast 4 s');
  assert.not.ok(health.timedOut(clock.monotonic() - 100, 6 * PERIOD), 'and not 6 s');
});

test('herald_local_health is exposed and reads the agent’s score', () => {
  const metrics = createHeraldMetrics();
  assert.match(metrics.registry.render(), /^herald_local_health 0$/m);
  metrics.localHealth.read = () => 4;
  assert.match(metrics.registry.render(), /^herald_local_health 4$/m);
});

/**
 * Eight agents; agent-0's event loop is busy in turns of 2.5 s for 20 s (what 200 agents in four processes
 * on two cores did in the bench), and agent-7 crashes in the middle. Without local health agent-0 lost all
 * six live peers: its probes' deadlines (1 and 2 s) ran before it read their answers.
 */
test('simulator: a lagging agent loses no live peer, and still loses a crashed one', async () => {
  const agents = Array.from({ length: 8 }, (_, i) => ({
    name: `agent-${i}`,
    mode: 'multicast' as const,
    devices: 'small' as const,
    joinAt: 0,
  }));
  const scenario: Scenario = {
    seed: 1,
    heartbeatMs: 1000,
    agents,
    faultMs: 30_000,
    quietMs: 15_000,
    faults: [
      { at: 5000, until: 25_000, kind: 'lag', to: 'agent-0', stallMs: 2500, everyMs: 2500 },
      { at: 15_000, kind: 'crash', agent: 'agent-7' },
    ],
  };
  const result = await runScenario(scenario, true);
  const lost = result.trace!.filter((l) => l.includes('[agent-0]') && l.endsWith(')') && l.includes(' lost '));
  assert.equal(result.violations, [], 'no false loss, no ghost');
  assert.is(lost.length, 1, lost.join('\n'));
  assert.match(lost[0], /agent-7 lost/);
  const at = Number(/^\s*([\d.]+)s/.exec(lost[0])![1]);
  assert.ok(at <= 15 + 2.5 + 2 * 2.5 + 0.5, `the crash lost by the lagging agent at ${at} s (a refusal read late)`);
});

test.run();
