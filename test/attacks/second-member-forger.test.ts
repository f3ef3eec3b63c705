import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SetsPage, WholeSet } from '../../src/directory/sets-page.js';
import type { PeerClient } from '../../src/transport/transport.js';
import { device } from '../helpers/sim.js';
import { fastStart } from '../helpers/fast-start.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { forgingMembers } from './forging-members.js';

const SIZE = 60;
/** The oldest lives: every second member is drawn among these (second-member.ts SECOND_MEMBERS). */
const FORGERS = 8;

/** Every other origin's set in a forger's bulk answer, at the version it holds, with made-up devices. */
function forgedPage(page: SetsPage, forger: string): SetsPage {
  const forged = (s: WholeSet): WholeSet =>
    s.origin === forger ? s : { ...s, entries: [{ version: s.version, device: device(`${s.origin}-forged`) }] };
  return { ...page, sets: page.sets.map(forged) };
}

/** A fast start (`forgers` filled as the first FORGERS start); then what every agent holds of every other. */
async function forgedStart(site: ScaleSite, forgers: Set<string>) {
  const completeMs = await fastStart(site, SIZE, (name, i) => {
    if (i < FORGERS) forgers.add(name);
  });
  await site.sim.clock.advance(3_000);
  const own = (o: string) => site.agent(o).agent.directory.setDigest(o);
  let [forged, withdrawn, seconds] = [0, 0, 0];
  for (const viewer of site.names) {
    const { directory, metrics } = site.agent(viewer).agent;
    for (const o of site.names) if (o !== viewer && directory.setDigest(o) !== own(o)) forged++;
    withdrawn += metrics.invalidInput.get({ source: 'sync', reason: 'bulk-set-unconfirmed' });
    seconds += metrics.bulkAsks.get({ result: 'second-asked' });
  }
  return { completeMs, forged, withdrawn, seconds };
}

/**
 * attack23: on an open site the second member need not be verified, and it is drawn among the oldest lives: whoever
 * started first (or says so: an incarnation is a start time) answers every second ask. Here the 8 oldest of a fast
 * start forge every other origin's set they serve. Each such set is second-hand, checked at its origin's endpoint
 * (bulk-sets.ts `answered`): none may stay. Measured (seed 2318, as the fast-start test: 2,800 ms honest): none
 * held at the end; complete in 4,700 ms, 873 forged sets taken then withdrawn and fetched at their origins (these
 * forgers are first members too). It holds; what it costs is the next test's.
 */
test('open site: the oldest lives forging their bulk answers leave no newcomer a forged set', async () => {
  const site = new ScaleSite(2318, 'default', 2);
  const forgers = new Set<string>();
  forgingMembers(site, ({ answer, route, query, address }) => {
    const forger = site.names.find((n) => site.addressOf(n) === address)!;
    if (answer.status !== 200 || route !== 'changes' || query.get('sets') !== '1' || !forgers.has(forger))
      return answer;
    return { status: 200, body: forgedPage(answer.body as SetsPage, forger) };
  }).on();
  try {
    const r = await forgedStart(site, forgers);
    console.log(
      `  complete in ${r.completeMs} ms; ${r.seconds} second asks; ${r.withdrawn} withdrawn; ${r.forged} held`,
    );
    assert.ok(r.completeMs !== undefined, 'every agent holds every origin');
    assert.is(r.forged, 0, 'no forged set held at the end');
  } finally {
    await site.stopAll();
  }
});

/**
 * The same, the forgery only in what each newcomer's second member answers it (its client's second `sets` member),
 * every other answer honest: what the second ask alone lets a forger do. Measured: none held at the end; complete
 * in 4,150 ms against 2,800, 20 second asks made 282 forged sets taken, withdrawn, and fetched again one by one. An
 * open site's member is anyone's to run (a verified one too: it answered once), so that is the open site's price.
 */
test('open site: a second member forging every set it serves leaves no newcomer a forged set', async () => {
  const site = new ScaleSite(2318, 'default', 2);
  const wrap = site.meter.peers.bind(site.meter);
  site.meter.peers = (address: string, inner: PeerClient): PeerClient => {
    const client = wrap(address, inner);
    const sets = client.sets?.bind(client);
    if (sets === undefined) return client;
    const members: string[] = [];
    client.sets = async (peer, after, timeoutMs) => {
      if (!members.includes(peer.address)) members.push(peer.address);
      const page = await sets(peer, after, timeoutMs);
      const forger = site.names.find((n) => site.addressOf(n) === peer.address)!;
      return members.indexOf(peer.address) === 1 ? forgedPage(page, forger) : page;
    };
    return client;
  };
  try {
    const r = await forgedStart(site, new Set());
    console.log(
      `  complete in ${r.completeMs} ms; ${r.seconds} second asks; ${r.withdrawn} withdrawn; ${r.forged} held`,
    );
    assert.ok(r.completeMs !== undefined, 'every agent holds every origin');
    assert.is(r.forged, 0, 'no forged set held at the end');
  } finally {
    await site.stopAll();
  }
});

test.run();
