import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SetsPage, WholeSet } from '../../src/directory/sets-page.js';
import type { Hello } from '../../src/transport/transport.js';
import { device } from '../helpers/sim.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { forgingMembers } from './forging-members.js';

const SITE = 60;
const GHOST = 'ghost-1';
/** agent-5's set is forged at its own version; agent-6's at a version it never had (its summary raised too). */
const [SAME, AHEAD] = ['agent-5', 'agent-6'];

/** Every member's bulk answers and summaries forged, once `on()`: a made-up origin, two real ones' sets. */
function forging(site: ScaleSite): { on(): void } {
  return forgingMembers(site, ({ answer, route, query }) => {
    if (answer.status !== 200) return answer;
    if (route === 'changes' && query.get('sets') === '1') return { status: 200, body: forgedPage(answer.body) };
    const hello = answer.body as Hello;
    if (route !== 'hello' || hello.peers === undefined) return answer;
    const peers = hello.peers.map((p) => (p.name === AHEAD ? { ...p, version: p.version + 3 } : p));
    peers.push({ name: GHOST, incarnation: 1, version: 1, address: '10.0.0.250', port: 7771 });
    return { status: 200, body: { ...hello, peers } };
  });
}

function forgedPage(body: unknown): SetsPage {
  const page = body as SetsPage;
  const forged = (set: WholeSet, version: number): WholeSet => ({
    ...set,
    version,
    entries: [{ version, device: device(`${set.origin}-forged`) }],
  });
  const sets = page.sets.map((s) =>
    s.origin === SAME ? forged(s, s.version) : s.origin === AHEAD ? forged(s, s.version + 3) : s,
  );
  if (page.next === undefined) sets.push(forged({ ...sets[0], origin: GHOST, incarnation: 1 }, 1));
  return { ...page, sets };
}

/**
 * The bulk catch-up's trust (docs/protocol.md, *Bulk catch-up*): on an open site every member's bulk answer (and
 * summary) is forged for a newcomer: a made-up origin at an on-link address where nothing listens, agent-5's set
 * at its own version with made-up devices, agent-6's at 3 versions it never had. Taken second-hand, each is checked
 * at its origin's first answer (the probe sent at once, with the digest of the origin's own set): before that
 * check, agent-5's and agent-6's forged sets stayed at the newcomer until their devices changed.
 */
test('open site: a forging member cannot make a newcomer keep a made-up origin or a forged set', async () => {
  const site = new ScaleSite(1817, 'default', 2);
  const forgery = forging(site);
  try {
    await site.startSettled(SITE);
    forgery.on();
    const name = `agent-${SITE}`;
    const started = site.now();
    await site.start(name, SITE + 1);
    const dir = site.agent(name).agent.directory;
    const ghostDevices = new Set<string>();
    dir.subscribe((e) => {
      if (e.type === 'device-added' && e.agent === GHOST) ghostDevices.add(e.device.id);
    });
    const ownDigest = (origin: string) => site.agent(origin).agent.directory.setDigest(origin);
    let [ghostHeldMs, forgedHeldMs] = [0, 0];
    for (let t = 0; t < 5_000; t += 10) {
      await site.sim.clock.advance(10);
      if (dir.held(GHOST)?.state === 'alive' && dir.held(GHOST)!.version > 0) ghostHeldMs += 10;
      const forged = [SAME, AHEAD].some((o) => dir.held(o) !== undefined && dir.setDigest(o) !== ownDigest(o));
      if (forged) forgedHeldMs += 10;
    }
    const made = site.meter.of(site.addressOf(name)).catchupsMade;
    const unconfirmed = site
      .agent(name)
      .agent.metrics.invalidInput.get({ source: 'sync', reason: 'bulk-set-unconfirmed' });
    console.log(
      `  made-up origin held ${ghostHeldMs} ms (${ghostDevices.size} devices shown), forged sets ${forgedHeldMs} ms` +
        ` (${unconfirmed} withdrawn); ${made} catch-ups made`,
    );
    assert.is(unconfirmed, 2, "both forged sets were taken, then withdrawn at their origins' answers");
    assert.is(dir.held(GHOST)?.state === 'alive', false, 'the made-up origin is not held alive');
    assert.ok(ghostHeldMs <= 100, `the made-up origin held ${ghostHeldMs} ms (until its probe failed)`);
    for (const o of [SAME, AHEAD]) {
      assert.is(dir.held(o)?.version, site.agent(o).agent.local.currentVersion, `${o} at its own version`);
      assert.is(dir.setDigest(o), ownDigest(o), `${o}'s own set`);
    }
    assert.ok(forgedHeldMs <= 100, `forged sets held ${forgedHeldMs} ms (until their origins answered)`);
    assert.ok(site.holdsAll(name) >= site.names.length, 'the newcomer holds every origin');
    assert.ok(site.now() - started >= 5_000);
  } finally {
    await site.stopAll();
  }
});

test.run();
