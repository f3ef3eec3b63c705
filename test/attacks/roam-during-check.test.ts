import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { Ring } from '../../src/sync/ring.js';
import { MovingHost, startWithMover } from '../helpers/moving-host.js';
import { SimSite } from '../helpers/sim.js';

/**
 * attack15, surface 4 (attack14's moves). A host that roams (a Wi-Fi roam, a VM migrated) is unreachable for a
 * few seconds and comes back at a new address in the same life. Its monitors, hearing nothing, check it at
 * the old address meanwhile; its beats from the new address ask them to probe there (beat.ts), but each such
 * probe is `busy` behind the check under way (Liveness.probe: one probe of a peer at a time) and is dropped, so
 * the check's second probe, at the vacant old address, times out and the monitor loses a live agent, and on a
 * keyed site tells the site, which believes it. attack14 noted this ("a viewer's probe of the new address is busy
 * behind that check") and excused it in the swarm's LivenessJudge. Keyed, 40 agents at 36 B/s (sync-move's site).
 */
const AGENTS = 40;
const MOVER = 'agent-7';
const OLD = '10.0.0.8';
const NEW = '10.1.0.1';
const ROAM_MS = 3_000;

test('keyed: an agent unreachable for 3 s that comes back at a new address is lost by no one', async () => {
  const site = new SimSite(1501, {}, 1000, parseKeyRing(generateKey()), { logLevel: 'silent', settleTurns: 1 });
  const host = new MovingHost(site.network, OLD);
  try {
    const names = await startWithMover(site, host, { count: AGENTS, mover: MOVER, heartbeatBudget: 36 });
    const lost: string[] = [];
    for (const sim of site.agents.values())
      sim.agent.directory.subscribe((ev) => {
        if (ev.type === 'agent-lost' && ev.agent === MOVER) lost.push(sim.name);
      });
    const others = names.filter((n) => n !== MOVER).map((n) => site.agents.get(n)!.address);
    const cut = (on: boolean) => {
      for (const o of others) {
        site.network.cut(OLD, o, on);
        site.network.cut(o, OLD, on);
      }
    };
    cut(true);
    await site.clock.advance(ROAM_MS);
    cut(false);
    await host.move(NEW);
    await site.clock.advance(20_000);
    const atNew = names.filter((n) => n !== MOVER && site.agents.get(n)!.agent.directory.agent(MOVER)?.address === NEW);
    const monitors = new Ring(names).monitorsOf(MOVER);
    console.log(
      `  monitors ${monitors.join(', ')}; lost by ${lost.length} (${lost.slice(0, 6).join(' ')}${lost.length > 6 ? ' …' : ''}); ` +
        `${atNew.length} of ${AGENTS - 1} hold the new address 20 s after`,
    );
    assert.equal(lost, [], 'agents lost the roamed agent, which ran all along');
    // Its monitors followed it (the others do at its next multicast, minutes away at 36 B/s, as in sync-move).
    assert.ok(
      monitors.every((m) => atNew.includes(m)),
      'its monitors hold the new address',
    );
  } finally {
    await site.stopAll();
  }
});

test.run();
