import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../../src/sync/ring.js';
import { runScenario } from '../swarm/run-seed.js';
import { type FaultEvent, type Scenario, multicastSite } from '../swarm/scenario.js';

/**
 * Attack on ac23ec8 (an open site's early lost notice only from a prober whose local health is 0): what the
 * site sees of a vanished host, and of a crashed one, when BOTH of its monitors are late. 32 agents, so that
 * heartbeats are stretched and notices are sent.
 */
const agents = multicastSite(32);
const VICTIM = 'agent-7';
const monitors = new Ring(agents.map((a) => a.name)).monitorsOf(VICTIM);
const others = agents.map((a) => a.name).filter((n) => n !== VICTIM && !monitors.includes(n));
const GONE_AT = 12_000;

/** When each agent first logged the victim lost, in seconds of the run. */
function lostAt(trace: string[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const line of trace) {
    const m = /^\s*([\d.]+)s \[(agent-\d+)\] agent-7 lost \(/.exec(line);
    if (m && !at.has(m[2])) at.set(m[2], Number(m[1]));
  }
  return at;
}

/** Each schedule's outcome: the simulation is deterministic, so the second test reads the first's runs. */
const runs = new Map<string, ReturnType<typeof simulate>>();
function gone(how: FaultEvent, stallMs: number, everyMs: number): ReturnType<typeof simulate> {
  const key = `${how.kind}/${stallMs}/${everyMs}`;
  if (!runs.has(key)) runs.set(key, simulate(how, stallMs, everyMs));
  return runs.get(key)!;
}

/** The victim goes (`how`) at 12 s while both its monitors' loops stall `stallMs` every `everyMs`. */
async function simulate(how: FaultEvent, stallMs: number, everyMs: number) {
  const scenario: Scenario = {
    seed: 11,
    heartbeatMs: 1000,
    agents,
    faultMs: 60_000,
    quietMs: 10_000,
    faults: [...monitors.map((to) => ({ at: 2000, until: 60_000, kind: 'lag' as const, to, stallMs, everyMs })), how],
  };
  const result = await runScenario(scenario, true);
  const at = lostAt(result.trace!);
  const worst = Math.max(...others.map((n) => at.get(n) ?? Infinity)) - GONE_AT / 1000;
  const notices = Object.entries(result.noticesSent)
    .filter(([name]) => name !== VICTIM) // the partitioned victim itself loses everyone
    .reduce((sum, [, n]) => sum + n, 0);
  console.log(`    ${how.kind}, monitors stalling ${stallMs}/${everyMs} ms: ${worst.toFixed(2)} s, ${notices} notices`);
  return { worst, missing: others.filter((n) => !at.has(n)), notices, result };
}

const vanish: FaultEvent = { at: GONE_AT, until: 60_000, kind: 'partition', side: [VICTIM] };
const crash: FaultEvent = { at: GONE_AT, kind: 'crash', agent: VICTIM };
/**
 * Monitors' loop troubles: busy all along in short turns, short stalls now and then, long ones; and the bound on a
 * vanished host for each. It is lost by all about 3 s after its monitors' check starts (a helper's one-period probe,
 * then the receivers' two-period one), the check 2.5 periods after the monitors last heard it. At 3 s every 9 s the
 * monitors stall from 11 to 14 s: a heartbeat the host sent in the second before it vanished is read at 14 s and its
 * silence counted from there (as a real late loop does; an open site's datagram carries no trusted send time), so
 * the check starts at 16.5 s, not 15 s: 7.5 s, not 6.0. Whether its last heartbeat fell in that second is the
 * random stream's: in a seed scan of this scenario (seeds 1-12) 6 of 12 seeds gave 7.5 s on main (c6b95e2, not at
 * this seed) and 7 of 12 with the datagram challenge (at this one), the rest 6.0 s.
 */
const LAGS = [
  [400, 400, 6.5],
  [600, 5000, 6.5],
  [800, 2000, 6.5],
  [1500, 1500, 6.5],
  [3000, 9000, 7.6],
] as const;

/**
 * Held, bounded: however late both monitors are, every on-time agent loses a vanished host within 6.5 s (the
 * late monitors ask on-time ring neighbours to probe it, indirect-checks.ts; before them each agent's own
 * backstop, 2.5 × 2 intervals of silence then its 1 s and 2 s probes, took 9-10 s), and a crashed one (a
 * refused port, told to the site by a late monitor too) within 3.5 s + one stall (+ the notice's tenth of a
 * period gathering subjects).
 */
test('both monitors of a gone host late: every on-time agent still loses it, within a bound', async () => {
  for (const [stallMs, everyMs, bound] of LAGS) {
    const v = await gone(vanish, stallMs, everyMs);
    assert.equal(v.missing, [], `${stallMs}/${everyMs}: on-time agents that never lost the vanished host`);
    assert.ok(v.worst <= bound, `${stallMs}/${everyMs}: vanished host lost by all after ${v.worst} s`);
    assert.ok(v.notices <= 8, `${stallMs}/${everyMs}: ${v.notices} notices`);
    assert.equal(v.result.violations, []);
    const c = await gone(crash, stallMs, everyMs);
    assert.equal(c.missing, [], `${stallMs}/${everyMs}: on-time agents that never lost the crashed host`);
    // A notice gathers the subjects found within a tenth of a period (notice-batch.ts): its timer may fall in a stall.
    assert.ok(c.worst <= 3.5 + 0.1 + stallMs / 1000, `${stallMs}/${everyMs}: crash lost by all after ${c.worst} s`);
    assert.ok(c.notices <= 4, `${stallMs}/${everyMs}: a crash drew ${c.notices} notices`);
  }
});

/**
 * Finding (A), fixed by indirect probes. A monitor whose loop stalls 600 ms every 5 s (a GC pause, a profile
 * reload; its score is 1-2 for ten periods after each) holds its early notice on a timeout (ac23ec8). Both
 * monitors of the host so: the site learnt of it from each agent's own backstop instead, after 9.5 s (800 ms
 * every 2 s: 10.0 s). Now each late monitor asks two on-time ring neighbours to probe the host beside its own
 * probe, and sends its notice on their verdict: 5.2 s and 5.9 s, 4 notices (the two monitors' one each).
 */
test('both monitors briefly late: a vanished host is lost within 6 s, not by every agent’s backstop', async () => {
  for (const [stallMs, everyMs] of [
    [600, 5000],
    [800, 2000],
  ] as const) {
    const v = await gone(vanish, stallMs, everyMs);
    assert.ok(v.worst <= 6, `${stallMs}/${everyMs}: lost by every on-time agent after ${v.worst} s`);
    assert.ok(v.notices <= 4, `${stallMs}/${everyMs}: the site multicast ${v.notices} notices for one vanished host`);
  }
});

test.run();
