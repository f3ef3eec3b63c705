import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../../src/sync/ring.js';
import type { Asker } from '../../src/transport/transport.js';
import '../helpers/no-unhandled.js';
import type { SimSite } from '../helpers/sim.js';
import { openSite as openSiteOf } from './open-site.js';

/**
 * Indirect probes (indirect-checks.ts) on an open site, where anyone who runs an agent is a verified member
 * and watches a few others on the ring. A check request makes the asked agent probe someone, and its verdict
 * makes the asker multicast a notice: an amplifier, or a way to get a live agent lost, unless bounded.
 */
const AGENTS = 40;
const HOSTILE = 'agent-8';

const openSite = (seed: number) => openSiteOf(seed, AGENTS);

/** What the honest agents do in `ms` while `each` runs once a second: probes (hellos), verdicts, notices sent. */
async function during(site: SimSite, ms: number, each: () => void) {
  let hellos = 0;
  let verdicts = 0;
  const hostile = site.agents.get(HOSTILE)!.address;
  const noticesBefore = notices(site);
  site.network.onEvent = (e) => {
    if (e.type !== 'rpc' || e.route !== 'hello' || e.from === hostile) return;
    if (e.query.includes('gone=')) verdicts++;
    else hellos++;
  };
  for (let t = 0; t < ms; t += 1000) {
    each();
    await site.clock.advance(1000);
  }
  site.network.onEvent = undefined;
  return { hellos, verdicts, notices: notices(site) - noticesBefore };
}

/** Notice datagrams the honest agents multicast so far. */
function notices(site: SimSite): number {
  return site
    .running()
    .filter((a) => a.name !== HOSTILE)
    .reduce((n, a) => n + a.agent.metrics.announcementsSent.get({ type: 'notice' }), 0);
}

/** Hellos from the hostile member to every honest agent, one per name in `about`, carrying `extra`. */
function flood(site: SimSite, about: string[], extra: (name: string) => Partial<Asker>): void {
  const hostile = site.agents.get(HOSTILE)!;
  const client = site.network.peerClient(hostile.address);
  const self = { name: HOSTILE, incarnation: hostile.incarnation, port: 7771 };
  for (const target of site.running())
    if (target.name !== HOSTILE)
      for (const name of about)
        client.hello({ address: target.address, port: 7771 }, 1000, false, { ...self, ...extra(name) }).catch(() => {});
}

/** Honest agents that do not hold every running agent alive. */
function falselyLost(site: SimSite): string[] {
  const running = site.running();
  return running
    .filter((viewer) => viewer.name !== HOSTILE)
    .filter((viewer) =>
      running.some((a) => a.name !== viewer.name && viewer.agent.directory.held(a.name)?.state !== 'alive'),
    )
    .map((a) => a.name);
}

test('a member flooding check requests about every agent, made-up names too, draws bounded probes and no notice', async () => {
  const site = await openSite(2211);
  try {
    const idle = await during(site, 20_000, () => {});
    const names = [...site.agents.keys(), 'nobody-1', 'nobody-2'];
    const attacked = await during(site, 20_000, () => flood(site, names, (name) => ({ check: name })));
    console.log(
      `  hellos in 20 s: idle ${idle.hellos}, under ${AGENTS * names.length}/s check requests ${attacked.hellos}`,
    );
    // Only about the MONITORS agents it watches on the ring, each probed by each helper once in 3 periods:
    // at most 39 helpers × 2 subjects × 7 rounds, whatever the rate and the names asked about (532 so; 42 since
    // only the asker's ring neighbours serve it: indirect-reach.test.ts holds that bound).
    const subjects = new Ring([...site.agents.keys()]).subjectsOf(HOSTILE).length;
    const bound = idle.hellos + (AGENTS - 1) * subjects * 7;
    assert.ok(attacked.hellos <= bound, `${attacked.hellos} hellos under a check flood, more than ${bound}`);
    assert.equal(attacked.verdicts, 0, 'no helper said a live agent was gone');
    assert.equal(attacked.notices, 0, 'no honest agent multicast a notice');
    assert.equal(falselyLost(site), [], 'every honest agent holds every agent alive');
  } finally {
    await site.stopAll();
  }
});

test('forged verdicts (never asked for, or in another agent’s name) make no agent tell the site', async () => {
  const site = await openSite(2212);
  try {
    const names = [...site.agents.keys()];
    // In its own name: no agent asked it. In its subjects' other monitors' names: not from their address.
    const ring = new Ring(names);
    const attacked = await during(site, 20_000, () => {
      flood(site, names, (name) => ({ gone: name }));
      for (const subject of names)
        for (const monitor of ring.monitorsOf(subject))
          flood(site, [subject], () => ({
            name: monitor,
            incarnation: site.agents.get(monitor)!.incarnation,
            gone: subject,
          }));
    });
    assert.equal(attacked.notices, 0, 'no honest agent multicast a notice on a forged verdict');
    assert.equal(falselyLost(site), [], 'every honest agent holds every agent alive');
  } finally {
    await site.stopAll();
  }
});

test.run();
