import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../src/security/cluster-key.js';
import { Ring } from '../src/sync/ring.js';
import { losersOf, MovingHost, startWithMover } from './helpers/moving-host.js';
import { SimSite } from './helpers/sim.js';

/**
 * Swarm seed 657 (`--host-faults --max-agents 200`): agent-87 moved host in the same life at 10.2 s. Its monitors
 * followed it (its beats from the new address, beat.ts), but agent-84, neither its monitor nor its subject, had heard
 * none of its datagrams since 4.0 s (a stretched site: its multicasts 26 s apart). A view exchange at 14.9 s asked a
 * stormed neighbour's summary, which did not name agent-87, and so checked it first-hand, at the old address: two
 * probes there went unanswered and agent-84 lost a live agent until its next multicast (30 s). A check has only the
 * endpoint it holds; the agents that know the new one are the peer's monitors, heard from it every period.
 *
 * Here: keyed, 40 agents at 36 B/s (sync-move's site), churn (one of the mover's monitors crashed just before it
 * moves), and a viewer that hears none of the mover's datagrams from its new address (a switch's filter: IGMP
 * snooping, as the swarm's `deaf` hosts), so only its backstop check asks about the mover, at the old address.
 */
const AGENTS = 40;
const MOVER = 'agent-7';
const OLD = '10.0.0.8';
const NEW = '10.1.0.1';

test('a same-life move during churn: a viewer that heard nothing from the new address does not lose it', async () => {
  const site = new SimSite(657, {}, 1000, parseKeyRing(generateKey()), { logLevel: 'silent', settleTurns: 1 });
  const host = new MovingHost(site.network, OLD);
  try {
    const names = await startWithMover(site, host, { count: AGENTS, mover: MOVER, heartbeatBudget: 36 });
    const [crashed] = new Ring(names).monitorsOf(MOVER);
    await site.crash(crashed);
    const ring = new Ring(names.filter((n) => n !== crashed));
    const near = new Set([MOVER, ...ring.monitorsOf(MOVER, 4), ...ring.subjectsOf(MOVER, 4)]);
    const viewer = names.find((n) => !near.has(n))!;
    const viewerAddress = site.agents.get(viewer)!.address;
    site.network.dropAtSend = (from, to) => from === NEW && to === viewerAddress;
    const lost = losersOf(site, MOVER);
    let lostAt: number | undefined;
    site.agents.get(viewer)!.agent.directory.subscribe((ev) => {
      if (ev.type === 'agent-lost' && ev.agent === MOVER) lostAt ??= site.clock.monotonic();
    });
    await site.clock.advance(1_000);
    await host.move(NEW);
    const movedAt = site.clock.monotonic();
    // The viewer's backstop: five of the mover's intervals of silence, then the check's two probes.
    await site.clock.advance(800_000);
    const holdsAtNew = (n: string) => {
      const agent = site.agents.get(n)!.agent.directory.agent(MOVER);
      return agent?.state === 'alive' && agent.address === NEW;
    };
    const monitors = ring.monitorsOf(MOVER);
    console.log(
      `  crashed ${crashed}; monitors ${monitors.join(', ')}; viewer ${viewer}; lost by ${lost.length} ` +
        `(${lost.slice(0, 6).join(' ')}${lostAt === undefined ? '' : `, ${((lostAt - movedAt) / 1000).toFixed(1)} s after`}); the viewer holds it ${site.agents.get(viewer)!.agent.directory.agent(MOVER)?.state}` +
        ` at ${site.agents.get(viewer)!.agent.directory.agent(MOVER)?.address}`,
    );
    assert.ok(monitors.every(holdsAtNew), 'every monitor holds the mover alive at its new address');
    assert.equal(lost, [], 'agents lost the mover, which ran all along');
    assert.ok(holdsAtNew(viewer), 'the viewer holds the mover alive at its new address');
  } finally {
    site.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

test.run();
