import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import { OriginReplica } from '../src/sync/origin-replica.js';
import type { Peer } from '../src/sync/peer-table.js';
import type { SyncContext } from '../src/sync/sync-context.js';
import { Transitions } from '../src/sync/transitions.js';
import { FakeClock } from '../src/util/clock.js';

/**
 * A new life of a peer forgets where the old process was heard from, answered from, and seen roaming
 * (endpoint-proofs.ts forgetEndpoints). `Peer.elsewhere` (a probe asked at another endpoint while one was under
 * way) was kept before ghost14: a check of the new life then asked the old process's roaming address before a
 * loss, a probe to an endpoint nothing of this life ever named.
 */
test('a new life forgets the old process’s datagram endpoints and its roaming hint', () => {
  const clock = new FakeClock();
  const directory = new Directory({ clock }, { site: 's' });
  const s = {
    c: { clock, directory },
    hints: { forget: () => {} },
  } as unknown as SyncContext;
  const t = new Transitions(s, {
    catchup: () => {
      throw new Error('no catch-up: version 0');
    },
    liveness: () => {
      throw new Error('no probe');
    },
    claims: () => {
      throw new Error('no claim');
    },
    verify: () => {},
    keyed: false,
  });
  const endpoint = { address: '10.0.0.2', port: 7771 };
  const peer = {
    name: 'a',
    endpoint,
    replica: new OriginReplica(directory, clock, 'a', 1),
    datagram: { address: '10.0.0.2', port: 40_001 },
    answeredDatagram: { address: '10.0.0.2', port: 40_001 },
    elsewhere: { address: '10.0.0.9', port: 7771 },
  } as unknown as Peer;
  t.newLife(peer, 2, 0, 'new-incarnation');
  assert.is(peer.replica.incarnation, 2);
  assert.equal([peer.datagram, peer.answeredDatagram, peer.elsewhere], [undefined, undefined, undefined]);
  assert.equal(peer.endpoint, endpoint, 'its peer endpoint stays');
});

test.run();
