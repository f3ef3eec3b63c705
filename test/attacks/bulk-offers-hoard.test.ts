import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SetsPage, WholeSet } from '../../src/directory/sets-page.js';
import { sizedEntries } from '../../src/directory/origin.js';
import { device } from '../helpers/sim.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { forgingMembers } from './forging-members.js';

const SITE = 40;
const PAGES = 8;
const SETS_A_PAGE = 25;
const DEVICES_A_SET = 200;

/** A made-up origin's set: DEVICES_A_SET devices of ~550 B of JSON each (~110 KB a set, ~2.8 MB a page). */
function madeUpSet(origin: string): WholeSet {
  const entries = Array.from({ length: DEVICES_A_SET }, (_, i) => ({
    version: 1,
    device: device(`d-${i}`, { model: 'm'.repeat(128), manufacturer: 'f'.repeat(128), location: 'l'.repeat(128) }),
  }));
  return { kind: 'snapshot', origin, incarnation: 1, version: 1, entries };
}

/** Every member's bulk answers forged once `on()`: PAGES pages of made-up origins' large sets, then the real ones. */
function forging(site: ScaleSite): { on(): void } {
  return forgingMembers(site, ({ answer, route, query }) => {
    if (answer.status !== 200 || route !== 'changes' || query.get('sets') !== '1') return answer;
    const after = query.get('after') ?? '';
    const page = after.startsWith('zz-') ? Number(after.split('-')[1]) + 1 : 0;
    if (page >= PAGES) return { status: 200, body: { ...(answer.body as SetsPage), sets: [] } };
    const names = Array.from({ length: SETS_A_PAGE }, (_, i) => `zz-${page}-${String(i).padStart(3, '0')}`);
    return { status: 200, body: { kind: 'sets', sets: names.map(madeUpSet), next: names[names.length - 1] } };
  });
}

/**
 * attack19: the sets of a bulk answer's origins not in the peer table were kept for them (bulk-sets.ts `offers`,
 * for an open site's waiting room) up to 1,024 sets, whatever their size, 30 s past the last page: a forging member
 * made a newcomer hold every page it served of made-up origins' sets (up to 64 pages of 4 MiB), none of them in
 * its directory's bounds. Here 8 pages of 25 made-up origins, 200 devices each (~21 MiB of device JSON).
 */
test('open site: a forging member cannot make a newcomer keep more than a bounded size of sets for later', async () => {
  const site = new ScaleSite(1903, 'default', 1);
  const forgery = forging(site);
  try {
    await site.startSettled(SITE);
    forgery.on();
    const name = `agent-${SITE}`;
    await site.start(name, SITE + 1);
    await site.sim.clock.advance(3_000);
    type Bulk = { offers: Map<string, WholeSet | { set: WholeSet }> };
    const agent = site.agent(name).agent as unknown as { sync: { transitions: { bulk: Bulk } } };
    const kept = [...agent.sync.transitions.bulk.offers.values()].map((x) => ('set' in x ? x.set : x));
    const bytes = kept.reduce((n, set) => n + sizedEntries(set.entries).bytes, 0);
    console.log(`  ${kept.length} made-up origins' sets kept, ${(bytes / 2 ** 20).toFixed(1)} MiB of device JSON`);
    assert.ok(bytes <= 4 * 2 ** 20, `${(bytes / 2 ** 20).toFixed(1)} MiB kept for origins not let in`);
    assert.ok(site.holdsAll(name) >= site.names.length, 'the newcomer holds every real origin');
  } finally {
    await site.stopAll();
  }
});

test.run();
