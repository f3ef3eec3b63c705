import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageType } from '../../src/protocol/messages.js';
import { MovingHost, startWithMover } from '../helpers/moving-host.js';
import { SimSite } from '../helpers/sim.js';

/**
 * attack17, surface 4 (ghost14's move-probe bucket). On an open site an agent's move probes share one bucket (5 a
 * second, burst 20, src/sync/move-probes.ts). A forger that multicasts heartbeats of the site's agents' current
 * lives from an address where nothing answers spends it (one token per name each time a probe there settles):
 * can a real mover's heartbeats from its new address then find no token, so that its monitors, their probes of
 * the vacant old address unanswered, lose a live agent? Held (attack17): with forged heartbeats every 20 ms the
 * agents refused ~30,000 move probes a token, and still every agent followed the mover and none lost it.
 */
const AGENTS = 10;
const MOVER = 'agent-7';
const OLD = '10.0.0.8';
const NEW = '10.1.0.1';
const VICTIM = '10.0.9.8';

async function run(forging: boolean): Promise<{ lost: string[]; atNew: number; refused: number }> {
  const site = new SimSite(1701, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  const host = new MovingHost(site.network, OLD);
  try {
    const names = await startWithMover(site, host, { count: AGENTS, mover: MOVER, heartbeatBudget: 1200 });
    site.network.vacant.add(VICTIM);
    const forged = () =>
      [...site.agents.values()]
        .filter((a) => a.name !== MOVER)
        .map((a) => {
          const [incarnation, version] = [a.agent.local.incarnation, a.agent.local.currentVersion];
          const msg = { type: MessageType.heartbeat, site: 'sim', name: a.name, incarnation, version };
          return encodeMessage({ ...msg, peerPort: 80, hints: [] }).bytes;
        });
    const lost: string[] = [];
    for (const sim of site.agents.values())
      sim.agent.directory.subscribe((ev) => {
        if (ev.type === 'agent-lost' && ev.agent === MOVER) lost.push(sim.name);
      });
    const flood = async (ms: number) => {
      for (let t = 0; t < ms; t += 20) {
        if (forging) for (const data of forged()) site.network.inject(VICTIM, data);
        await site.clock.advance(20);
      }
    };
    await flood(5_000);
    await host.move(NEW);
    await flood(20_000);
    const atNew = names.filter((n) => n !== MOVER && site.agents.get(n)!.agent.directory.agent(MOVER)?.address === NEW);
    const refused = names
      .map((n) => site.agents.get(n)!.agent.metrics.invalidInput.get({ source: 'sync', reason: 'move-probes' }))
      .reduce((a, b) => a + b, 0);
    return { lost, atNew: atNew.length, refused };
  } finally {
    await site.stopAll();
  }
}

test('open site: a mover is followed and lost by no one (control, no forger)', async () => {
  const { lost, atNew } = await run(false);
  console.log(`  lost by ${lost.length}; ${atNew} of ${AGENTS - 1} hold the new address 20 s after`);
  assert.equal(lost, []);
  assert.is(atNew, AGENTS - 1);
});

test('open site: a forger spending the move-probe bucket does not make a mover falsely lost', async () => {
  const { lost, atNew, refused } = await run(true);
  console.log(`  forged: lost by ${lost.length}; ${atNew} of ${AGENTS - 1} hold the new address; ${refused} refused`);
  assert.ok(refused > 0, 'the forger spent the bucket');
  assert.equal(lost, []);
  assert.is(atNew, AGENTS - 1);
});

test.run();
