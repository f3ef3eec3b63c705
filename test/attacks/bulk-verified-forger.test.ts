import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SetsPage, WholeSet } from '../../src/directory/sets-page.js';
import { device } from '../helpers/sim.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { forgingMembers } from './forging-members.js';

const SITE = 60;
/** Last in name order: its set comes on the bulk answer's last page. */
const TARGET = 'agent-9';
/** Each page of the bulk answer comes this late, under a catch-up's deadline. */
const LATE_MS = 900;

interface Forgery {
  on(): void;
  /** The newcomer's catch-ups of TARGET are reset (its endpoint still answers probes), or not. */
  reset(on: boolean): void;
  /** Whether the newcomer had TARGET verified, and what it held of it, when its forged set was served. */
  served?: { verified: boolean; held: number; target: number };
}

/**
 * Every member's bulk answers to the newcomer forged once `on()`: one set a page, each page late (under the
 * deadline), TARGET's set at the version the newcomer knows of it, with made-up devices.
 */
function forging(site: ScaleSite, newcomer: string): Forgery {
  let member: string | undefined;
  const forged = (set: WholeSet, version: number): WholeSet => ({
    ...set,
    version,
    entries: [{ version, device: device(`${set.origin}-forged`) }],
  });
  const members = forgingMembers(site, ({ answer, route, query, from, address }) => {
    if (answer.status !== 200 || route !== 'changes' || from !== site.addressOf(newcomer)) return answer;
    // Members serve no catch-up of TARGET (an alternate's): its gap waits for the forged page.
    if (query.get('origin') === TARGET && address !== site.addressOf(TARGET))
      return { status: 404, body: { detail: 'not held' } };
    if (query.get('sets') !== '1') return answer;
    member = address; // its next pages come late
    const page = answer.body as SetsPage;
    if (page.sets.length === 0) return answer;
    const first = page.sets[0];
    const next = page.sets.length > 1 || page.next !== undefined ? first.origin : undefined;
    if (first.origin !== TARGET) return { status: 200, body: { kind: 'sets', sets: [first], next } };
    const r = replicaAt(site, newcomer, TARGET);
    forgery.served = { verified: site.verified(newcomer, TARGET), ...r };
    return { status: 200, body: { kind: 'sets', sets: [forged(first, Math.max(first.version, r.target))], next } };
  });
  let resetTarget = false;
  const forgery: Forgery = { on: () => undefined, reset: (reset) => (resetTarget = reset) };
  forgery.on = () => {
    members.on();
    const late = { kind: 'late' as const, delayMs: LATE_MS };
    site.sim.network.rpcFaults = (src, to, route) => {
      if (src !== site.addressOf(newcomer) || route !== 'changes') return undefined;
      // Every other catch-up of the newcomer's is reset a while (TARGET's gap, at TARGET or an alternate).
      return to === member ? late : resetTarget ? { kind: 'fail' } : undefined;
    };
  };
  return forgery;
}

/** What the viewer holds of `origin`, and the newest version it knows of (reached into: a test's). */
function replicaAt(site: ScaleSite, viewer: string, origin: string): { held: number; target: number } {
  type Peers = { get(n: string): { replica: { target: number; heldVersion(): number } } | undefined };
  const sync = (site.agent(viewer).agent as unknown as { sync: { peers: Peers } }).sync;
  const r = sync.peers.get(origin)?.replica;
  return { held: r?.heldVersion() ?? -1, target: r?.target ?? -1 };
}

/**
 * attack19: the bulk catch-up's second-hand check (bulk-sets.ts `take`) was skipped for an origin the newcomer had
 * verified (`if (peer.verified) return`): on an open site that says the origin answered once at its endpoint, not
 * that the member's set of it is true. Each page of the member's bulk answer comes late (under the deadline, one
 * set a page, so the answer runs ~55 s); meanwhile the newcomer holds TARGET, verified, then misses its next
 * change's announcement and its gap's catch-ups fail (reset; members serve none of TARGET's). TARGET's page then
 * carries its set at the version the newcomer knows, with a made-up device: before the fix it was taken with no
 * check and stayed, even after TARGET's next change (the delta applied on the forged set).
 */
test('open site: a forged set of an origin the newcomer verified meanwhile is checked at that origin too', async () => {
  const site = new ScaleSite(1901, 'default', 2);
  const name = `agent-${SITE}`;
  const forgery = forging(site, name);
  try {
    await site.startSettled(SITE);
    forgery.on();
    await site.start(name, SITE + 1);
    await site.sim.clock.advance(20_000); // it holds TARGET's set, fetched from TARGET: verified
    const [at, to] = [site.addressOf(TARGET), site.addressOf(name)];
    site.sim.network.cut(at, to, true); // its announcement of the next change is missed: a gap
    forgery.reset(true); // and the gap's catch-ups fail (reset), so the newcomer is behind a while
    await site.change(TARGET);
    await site.sim.clock.advance(1_000);
    site.sim.network.cut(at, to, false);
    await site.sim.clock.advance(50_000); // the forged page of TARGET comes ~55 s after the join
    forgery.reset(false);
    await site.sim.clock.advance(10_000);
    const dir = site.agent(name).agent.directory;
    const forged = () => (dir.held(TARGET)?.version ?? 0) > 0 && dir.setDigest(TARGET) !== ownDigest();
    const ownDigest = () => site.agent(TARGET).agent.directory.setDigest(TARGET);
    const heldForged = forged();
    await site.change(TARGET);
    await site.sim.clock.advance(10_000);
    const afterChange = forged();
    console.log(
      `  forged set served: ${JSON.stringify(forgery.served)}; held forged: ${heldForged},` +
        ` after its change: ${afterChange} ${JSON.stringify(replicaAt(site, name, TARGET))}`,
    );
    assert.ok(forgery.served !== undefined, "TARGET's set was forged");
    assert.is(heldForged, false, 'the forged set is not held');
    assert.is(afterChange, false, 'the forged set is not held after its origin changed');
  } finally {
    await site.stopAll();
  }
});

test.run();
