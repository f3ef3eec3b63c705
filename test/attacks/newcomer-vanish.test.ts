import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleSite, Watch } from '../swarm/scale-site.js';
import { budgetStretchedLike } from '../swarm/stretched-site.js';

/**
 * attack15, surface 2 (cold13: a silence is judged by the longer of the announced interval and this agent's own).
 * A newcomer's datagrams carry no interval until it has verified its peers; since cold13 the others judge it by
 * their own stretched interval, not the period, so a non-monitor no longer probes it after 2.5 s of silence. If it
 * vanishes then (its host gone: requests time out, datagrams dropped), only its monitors' check and their notice
 * find it. Here a newcomer joins 40 agents with the intervals of 200, its own catch-ups hang for 3 s (it stays
 * unscaled, as in test/sync-stretched-silence.test.ts), and it vanishes 1.5 s after it started: every other agent
 * must stop holding it alive within the vanished-host goal (6 s, docs/benchmarks.md).
 */
test('a newcomer that vanishes before it stretches is lost by every agent within 6 s', async () => {
  const site = new ScaleSite(1503, 'default', 2, { heartbeatBudget: budgetStretchedLike(40, 200) });
  try {
    await site.startSettled(40);
    const name = `agent-${site.names.length}`;
    const old = site.names.slice();
    const [at, busyUntil] = [`10.0.0.${site.names.length + 1}`, site.now() + 3_000];
    site.sim.network.rpcFaults = (from, _to, route) =>
      from === at && route === 'changes' && site.now() < busyUntil ? { kind: 'hang' } : undefined;
    await site.start(name, site.names.length + 1);
    assert.is(site.addressOf(name), at);
    await site.sim.clock.advance(1_500);
    const holders = old.filter((o) => site.agent(o).agent.directory.held(name)?.state === 'alive');
    for (const other of old) {
      site.sim.network.cut(at, site.addressOf(other), true);
      site.sim.network.cut(site.addressOf(other), at, true);
    }
    const watch = new Watch(site.now(), old, (v) => site.agent(v).agent.directory.held(name)?.state !== 'alive');
    await site.until(watch, 60_000, 50);
    const worst = Math.max(...watch.times.values());
    console.log(`  held alive by ${holders.length} of 40 when it vanished; the last let go after ${worst} ms`);
    assert.is(watch.missing, 0, `${watch.missing} agents still hold it alive 60 s later`);
    assert.ok(worst <= 6_000, `the last agent held it alive ${worst} ms after it vanished`);
  } finally {
    await site.stopAll();
  }
});

test.run();
