import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleSite } from './swarm/scale-site.js';

const SITE = 10;
const WATCH_MS = 60_000;

/**
 * Issue 18, the 200-agent cold start on a loaded machine: loops 8-14 s late, 130k-300k probes excused as
 * `lagged` (the prober's own loop was late, so no evidence against the peer). The verification probe of an
 * agent held second-hand backed off by the peer's probe failures, which a lagged probe does not count: each
 * agent asked every such peer again every 2 periods, and the probes kept the loops late. Here one agent's
 * loop is late for good (every timeout it sees is excused) and the newcomer it holds second-hand never
 * answers it: its verification probes must back off (4, 8, then every 16 periods), not repeat every 2.
 */
test('verification probes excused as lagged back off as failed ones do', async () => {
  const site = new ScaleSite(1820, 'default', 2);
  try {
    await site.startSettled(SITE);
    const viewer = 'agent-0';
    const name = `agent-${SITE}`;
    type Health = { timedOut(due: number, deadline: number): boolean };
    const sync = (site.agent(viewer).agent as unknown as { sync: { liveness: { health: Health } } }).sync;
    sync.liveness.health.timedOut = () => true;
    let probes = 0;
    site.sim.network.rpcFaults = (from, to, route) => {
      if (from !== site.addressOf(viewer) || to !== site.addressOf(name)) return undefined;
      if (route === 'hello') probes += 1;
      return route === 'changes' ? { kind: 'fail' } : { kind: 'hang' };
    };
    // Nor by datagram (challenge21): the viewer's announce challenge, or its echo, would verify the newcomer.
    site.sim.network.dropAtSend = (from, to, kind) => {
      const pair = [site.addressOf(viewer), site.sim.agents.get(name)?.address];
      return kind === 'unicast' && pair.includes(from) && pair.includes(to);
    };
    await site.start(name, SITE + 1);
    const joined = site.watchVersion(name, 1);
    await site.until(joined, 10_000, 10);
    assert.is(joined.missing, 0, 'the viewer holds the newcomer from a member');
    const from = probes;
    await site.sim.clock.advance(WATCH_MS);
    const asked = probes - from;
    console.log(`  ${asked} probes of the newcomer by the lagging viewer in ${WATCH_MS / 1000} s`);
    assert.not.ok(site.verified(viewer, name), 'still unverified: its endpoint never answered the viewer');
    assert.ok(asked >= 2, `${asked}: still asked now and then`);
    assert.ok(asked <= 8, `${asked} probes in 60 s (4, 8, then every 16 periods; 30 when lagged probes did not count)`);
  } finally {
    site.sim.network.rpcFaults = undefined;
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

test.run();
