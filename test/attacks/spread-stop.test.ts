import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ECHO_WAIT_PERIODS } from '../../src/sync/challenges.js';
import { ScaleSite } from '../swarm/scale-site.js';

const SITE = 70;

/**
 * Attack on the first-fetch spread (first-fetch-spread.ts): at 70 agents each one waits up to 350 ms before
 * its first catch-up of a newcomer. Agents stopped during that wait must ask nothing afterwards (their waits
 * are cancelled, not left to fire), and the others still catch the newcomer up. The newcomer echoes no announce
 * challenge (an older release; challenge21): echoed, its first announcement stood for every catch-up, and none waited.
 */
test('agents stopped while their first catch-up of a newcomer waits ask it nothing afterwards', async () => {
  const site = new ScaleSite(1823, 'default', 2);
  try {
    await site.startSettled(SITE);
    const name = `agent-${SITE}`;
    const stopped = site.names.slice(0, 20);
    const stoppedAddresses = new Set(stopped.map((n) => site.addressOf(n)));
    let asked = 0;
    let askedAfterStop = 0;
    let stoppedAt = Infinity;
    site.sim.network.rpcFaults = (from, to, route) => {
      if (route !== 'changes' || to !== site.addressOf(name)) return undefined;
      asked += 1;
      if (stoppedAddresses.has(from) && site.now() >= stoppedAt) askedAfterStop += 1;
      return undefined;
    };
    // Its unicast datagrams (the echoes) go nowhere: each agent's challenge is unanswered, and its catch-up then waits.
    site.sim.network.dropAtSend = (from, _to, kind) =>
      kind === 'unicast' && from === site.sim.agents.get(name)?.address;
    await site.start(name, SITE + 1);
    await site.sim.clock.advance(ECHO_WAIT_PERIODS * 1000 + 5);
    const before = asked;
    const heard = stopped.filter((n) => site.agent(n).agent.directory.held(name) !== undefined).length;
    assert.is(heard, stopped.length, 'the agents to stop have heard the newcomer');
    stoppedAt = site.now();
    for (const n of stopped) {
      site.live.delete(n);
      await site.sim.stop(n);
    }
    await site.sim.clock.advance(2_000);
    console.log(`  ${before} asked before the stop, ${asked} in all; ${askedAfterStop} by the stopped agents after it`);
    assert.ok(before < SITE / 2, `the first catch-ups are spread (${before} within 5 ms)`);
    assert.is(askedAfterStop, 0, 'nothing asked by a stopped agent');
    assert.ok(asked - askedAfterStop >= SITE - stopped.length - before, 'the running agents asked');
  } finally {
    site.sim.network.rpcFaults = undefined;
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

test.run();
