import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import { PeerTable, type Peer } from '../src/sync/peer-table.js';
import { Membership, Ring } from '../src/sync/ring.js';
import { FakeClock } from '../src/util/clock.js';
import { seededRandom } from '../src/util/random.js';

/** Only what membership and the bounds look at: a name and whether it proved itself. */
function peer(name: string, verified: boolean): Peer {
  return { name, verified } as Peer;
}

function world(unverifiedPeers = 1_000) {
  const directory = new Directory({ clock: new FakeClock() }, { site: 'membership' });
  directory.ensureOrigin('self', { local: true });
  const peers = new PeerTable({ peers: 1_000, unverifiedPeers });
  const isMember = (p: Peer) => p.verified && directory.held(p.name)?.state === 'alive';
  return { directory, peers, isMember, members: new Membership('self', peers, directory) };
}

/** Every name's monitors on a ring: what the agent acts on. */
function layout(ring: Ring, names: string[]): string[][] {
  return names.map((n) => ring.monitorsOf(n));
}

test('members and ring follow every change of the peer table and the directory, in any order', () => {
  const { directory, peers, isMember, members } = world();
  const random = seededRandom(18);
  const names = Array.from({ length: 40 }, (_, i) => `agent-${i}`);
  const pick = () => names[Math.floor(random() * names.length)];
  const ops: ((name: string) => void)[] = [
    (name) => {
      peers.add(peer(name, random() < 0.5));
      directory.ensureOrigin(name);
    },
    (name) => {
      const p = peers.get(name);
      if (p) peers.verify(p);
    },
    (name) => directory.markLost(name),
    (name) => directory.touch(name),
    (name) => directory.markLeft(name),
    (name) => directory.revive(name),
    (name) => directory.forget(name),
    (name) => peers.remove(name),
  ];
  for (let step = 0; step < 3_000; step++) {
    // Now and then a burst of changes larger than the sources remember of their recent ones.
    const changes = step % 200 === 199 ? 60 : 1;
    for (let k = 0; k < changes; k++) ops[Math.floor(random() * ops.length)](pick());
    // Asked after some changes only: a view built before a change must not answer after it.
    if (random() < 0.3) continue;
    const expected = ['self', ...[...peers.values()].filter(isMember).map((p) => p.name)];
    assert.is(members.count(), expected.length, `count after step ${step}`);
    assert.equal(layout(members.ring(), names), layout(new Ring(expected), names), `ring after step ${step}`);
  }
});

test('the bound on unverified peers counts adds, removals, replacements and verification', () => {
  const { peers } = world(3);
  const room = () => peers.room(false, () => false).ok;
  peers.add(peer('a', false));
  peers.add(peer('b', false));
  peers.add(peer('c', true));
  assert.ok(room(), 'two unverified of three');
  peers.add(peer('d', false));
  assert.not.ok(room(), 'three unverified of three');
  assert.ok(peers.room(true, () => false).ok, 'a verified agent is not held to that bound');
  peers.verify(peers.get('a')!);
  assert.ok(room(), 'verified: no longer counted');
  peers.add(peer('e', false));
  assert.not.ok(room());
  peers.remove('b');
  assert.ok(room(), 'removed: no longer counted');
  peers.add(peer('d', true));
  assert.ok(peers.room(false, () => false).ok, 'replaced by a verified one');
  peers.add(peer('f', false));
  peers.add(peer('f', false));
  assert.ok(room(), 'a replacement is counted once');
  peers.add(peer('h', false));
  assert.not.ok(room());
  const stranger = peer('g', false);
  peers.verify(stranger);
  assert.ok(stranger.verified);
  assert.not.ok(room(), 'verifying a peer the table does not hold changes nothing');
});

test.run();
