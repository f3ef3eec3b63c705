import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../src/sync/ring.js';
import { runScenario } from './swarm/run-seed.js';
import { multicastSite, type Scenario } from './swarm/scenario.js';

/**
 * A late monitor weighs an on-time helper's verdict only on its own loop, after what reached it before the
 * verdict (indirect-checks.ts, `verdict`). Swarm seeds 17000707 and 17001323: a monitor and its subject stalled
 * together (one process of a storm, turns over a period long); the on-time helper's one-period probe of the
 * subject went unanswered and its verdict came back mid-stall. The simulated monitor took it at once, before
 * the subject's heartbeat held in the same stall was read, and told the site of a live agent: every other
 * agent probed it (a hundred probes at a stalled host per notice), nobody lost it. A real loop reads the
 * stall's datagrams and the verdict in one turn, in no set order.
 */
const agents = multicastSite(40);
const SUBJECT = 'agent-7';
const monitors = new Ring(agents.map((a) => a.name)).monitorsOf(SUBJECT);

/** The subject and its monitors late together (one process, turns of `stallMs`); everyone else on time. */
const storm = (stallMs: number): Scenario => ({
  seed: 7,
  heartbeatMs: 1000,
  agents,
  faultMs: 30_000,
  quietMs: 20_000,
  faults: [
    { at: 5000, until: 25_000, kind: 'storm', agents: [SUBJECT, ...monitors], stallMs, everyMs: stallMs, processes: 1 },
  ],
});

/** Verdicts sent (hellos carrying `gone=`) and probes of the subject, from the trace. */
function count(trace: string[]): { verdicts: number; probes: number } {
  const verdicts = trace.filter((l) => / request \S+ -> \S+ hello\?\S*&gone=/.test(l)).length;
  const probes = trace.filter((l) => new RegExp(` request \\S+ -> ${SUBJECT} hello\\?`).test(l)).length;
  return { verdicts, probes };
}

test('a live subject stalled with its late monitors: no notice on a helper’s verdict, no loss', async () => {
  for (const stallMs of [1100, 1373, 1800]) {
    const result = await runScenario(storm(stallMs), true);
    const { verdicts, probes } = count(result.trace!);
    console.log(
      `    turns of ${stallMs} ms: ${verdicts} verdicts, ${probes} probes of ${SUBJECT}, notices ${JSON.stringify(result.noticesSent)}`,
    );
    assert.equal(result.violations, [], `${stallMs} ms`);
    assert.equal(result.noticesSent, {}, `${stallMs} ms: notices about live agents`);
  }
});

test.run();
