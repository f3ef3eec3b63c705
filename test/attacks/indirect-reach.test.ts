import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../../src/sync/ring.js';
import '../helpers/no-unhandled.js';
import type { SimSite } from '../helpers/sim.js';
import { honestHellos, openSite } from './open-site.js';

/**
 * Attack on 8bf04f8 (indirect probes) from a hostile member of an open site. A late monitor asks only its
 * ring neighbours (indirect-checks.ts: "no new ARP entries"), but a helper served any member that watches
 * the subject: one member asking every agent about the subject it watches made the whole site open a
 * connection to that subject every 3 periods (N/3 probes a second on one host, N neighbour entries for it),
 * the very spread of unicast peers the ring bounds (issue 18, ARP).
 */
const AGENTS = 40;
const HOSTILE = 'agent-8';

/** The honest agents that sent a hello to `subject` in `ms`, while `each` runs once a second. */
async function probersOf(site: SimSite, subject: string, ms: number, each: () => void): Promise<Set<string>> {
  const at = `${site.agents.get(subject)!.address}:`;
  const hellos = await honestHellos(site, HOSTILE, ms, each);
  return new Set(hellos.filter((h) => h.to.startsWith(at)).map((h) => h.from));
}

test('a member asking every agent to probe the agent it watches reaches only its own ring neighbours', async () => {
  const site = await openSite(2213, AGENTS);
  try {
    const ring = new Ring([...site.agents.keys()]);
    const subject = ring.subjectsOf(HOSTILE)[0];
    const hostile = site.agents.get(HOSTILE)!;
    const client = site.network.peerClient(hostile.address);
    const self = { name: HOSTILE, incarnation: hostile.incarnation, port: 7771, check: subject };
    const idle = await probersOf(site, subject, 21_000, () => {});
    const attacked = await probersOf(site, subject, 21_000, () => {
      for (const target of site.running())
        if (target.name !== HOSTILE && target.name !== subject)
          client.hello({ address: target.address, port: 7771 }, 1000, false, self).catch(() => {});
    });
    const neighbours = new Set([...ring.subjectsOf(HOSTILE), ...ring.monitorsOf(HOSTILE)]).size;
    console.log(`  agents probing ${subject} in 21 s: idle ${idle.size}, under the check flood ${attacked.size}`);
    assert.ok(
      attacked.size <= idle.size + neighbours,
      `${attacked.size} agents probed ${subject} (idle ${idle.size}): the check reached beyond the asker's ${neighbours} neighbours`,
    );
  } finally {
    await site.stopAll();
  }
});

test.run();
