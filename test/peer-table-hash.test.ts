import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a32 } from '../src/protocol/messages.js';
import { PeerTable, type Peer } from '../src/sync/peer-table.js';

/**
 * A hint names its origin by the hash of its name, and a receiver finds the peer by it (PeerTable.byHash, kept
 * as a map of its own beside the names by hash since change22): of names that share a hash the one added last,
 * the peer object the table holds now for that name, none once every name of the hash is removed.
 */
const A = 'sensor-539599';
const B = 'sensor-722382'; // shares A's hash (attacks/beat-name-hash)

const peer = (name: string) => ({ name, verified: true }) as unknown as Peer;

test('byHash follows adds, replacements and removals of names that share a hash', () => {
  assert.is(fnv1a32(A), fnv1a32(B));
  const table = new PeerTable({ peers: 10, unverifiedPeers: 10 });
  const a1 = peer(A);
  const b1 = peer(B);
  table.add(a1);
  assert.is(table.byHash(fnv1a32(A)), a1);
  table.add(b1);
  assert.is(table.byHash(fnv1a32(A)), b1, 'the name added last');
  const a2 = peer(A); // a new life of A replaces its record: it is now the last added
  table.add(a2);
  assert.is(table.byHash(fnv1a32(A)), a2);
  table.remove(A);
  assert.is(table.byHash(fnv1a32(A)), b1, 'the other name of the hash, once A goes');
  table.remove(B);
  assert.is(table.byHash(fnv1a32(A)), undefined);
  assert.equal(table.allByHash(fnv1a32(A)), []);
});

test('byHash of a name never added, and after a name is replaced by the same name', () => {
  const table = new PeerTable({ peers: 10, unverifiedPeers: 10 });
  assert.is(table.byHash(fnv1a32('agent-1')), undefined);
  const first = peer('agent-1');
  const second = peer('agent-1');
  table.add(first);
  table.add(second);
  assert.is(table.byHash(fnv1a32('agent-1')), second);
  assert.is(table.get('agent-1'), second);
});

test.run();
