import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario } from './swarm/run-seed.js';
import { multicastSite, type FaultEvent } from './swarm/scenario.js';

/**
 * A host that heard nobody for a few seconds and then slept (a lossy link, then SIGSTOP or a suspended VM) has two
 * reasons at its resume, read in the same turn, to ask a peer's summary: a peer that left while it slept refuses at
 * its old endpoint (askAround: where did it go?), and its cut-off ends (the rejoin exchange). Swarm seed 41000025
 * with host faults (`thaw-storm`, 5 agents: 13 requests in the 2 s after the thaw, over the bound of 12) asked the
 * same peer's summary twice in one millisecond so, then a third one for a second opinion, because its own view
 * differed from the next neighbour's only by what the first summary had just named (a peer's new address, probed).
 */
const THAWED = 'agent-1';
const PEERS = ['agent-0', 'agent-2', 'agent-3', 'agent-4'];
const FREEZE = { at: 20_000, until: 40_000 };

/** Agent-3 leaves while the host sleeps: `crash`ed, or restarted at a new address (`moved`), unheard by it. */
async function thaw(leaves: 'crash' | 'moved'): Promise<string[]> {
  const restart = { at: FREEZE.at + 5000, kind: 'restart' } as const;
  const hang = { at: FREEZE.at - 2300, until: FREEZE.at, kind: 'rpc', fault: 'hang', share: 1, delayMs: 0 } as const;
  const faults: FaultEvent[] = [
    // No datagram reaches it for 2.3 s before it sleeps, nor the answer to a probe (a lossy link): no stall of its
    // own explains that silence (a cut-off). Its probes of peers silent 2.5 periods, at 19.5 s, end in the freeze.
    { at: FREEZE.at - 2300, until: FREEZE.at, kind: 'link', to: THAWED, loss: 1, duplicate: 0, reorderMs: 0 },
    ...PEERS.map((to): FaultEvent => ({ ...hang, to })),
    { ...FREEZE, kind: 'freeze', to: THAWED },
    leaves === 'crash'
      ? { at: FREEZE.at + 5000, kind: 'crash', agent: 'agent-3' }
      : { ...restart, agent: 'agent-3', move: true, downMs: 100, goodbye: false, goodbyeLostTo: [] },
  ];
  const agents = multicastSite(5);
  // Seed 1, not 41 (challenge21): the announce challenges' datagrams shift the heartbeats' phase, and at seed 41
  // agent-3 was one of the peers probed at 19.5 s; its confirming probe, at the resume, was refused 1 ms after the
  // exchange's summary was answered (crash), or went to its new address (moved): not this situation (probedEarly).
  const scenario = { seed: 1, heartbeatMs: 1000, agents, faultMs: FREEZE.until, quietMs: 15_000, faults };
  const result = await runScenario(scenario, true);
  assert.ok(result.ok, result.violations.map((v) => `${v.kind} ${v.detail}`).join('; '));
  return result.trace!;
}

/** The thawed host's requests in the 2 s after its resume, by what they asked. */
function asked(trace: readonly string[]) {
  const within = (from: number, until: number) =>
    trace.filter((l) => {
      const m = new RegExp(`^\\s*([\\d.]+)s request ${THAWED} -> `).exec(l);
      return m !== null && Number(m[1]) * 1000 >= from && Number(m[1]) * 1000 < until;
    });
  const after = within(FREEZE.until, FREEZE.until + 2000);
  return {
    // The situation: agent-3 first checked at the resume (not probed before the freeze), so its refusal is read in
    // the turn the cut-off ends, not after the exchange's summary came back.
    probedEarly: within(FREEZE.at - 2300, FREEZE.until).filter((l) => / -> agent-3[ :]/.test(l)).length,
    summaries: after.filter((l) => /hello\?(\S*&)?peers=1/.test(l)),
    refused: after.filter((l) => / -> (agent-3|10\.0\.0\.4) hello\?\S*: refused/.test(l)).length,
    compares: after.filter((l) => /hello\?\S*digest=1/.test(l)).length,
  };
}

test('a cut-off ended by a thaw, with a peer refused at the same time: one summary asked, not one each', async () => {
  const { summaries, refused, probedEarly } = asked(await thaw('crash'));
  assert.is(probedEarly, 0, 'agent-3 not probed before the freeze: first checked at the resume');
  assert.is(refused, 1, 'the crashed peer refused the thawed host’s check');
  // Before s20: askAround's summary and the cut-off exchange's, each to a peer of its own choosing, 1 ms apart.
  assert.is(summaries.length, 1, `one summary asked:\n${summaries.join('\n')}`);
});

test('a peer moved while the host slept, named by the first summary: the next neighbour agrees, no 2nd', async () => {
  const { summaries, refused, compares, probedEarly } = asked(await thaw('moved'));
  assert.is(probedEarly, 0, 'agent-3 not probed before the freeze: first checked at the resume');
  assert.is(refused, 1, 'the moved peer’s old address refused the thawed host’s check');
  assert.is(compares, 1, 'the exchange compared the next neighbour’s digest (its second opinion)');
  // Before s20 that digest differed from the thawed host's own view (the mover's new address still being probed),
  // and the neighbour's summary was asked too, though its digest was the first summary's view.
  assert.is(summaries.length, 1, `one summary asked:\n${summaries.join('\n')}`);
});

test.run();
