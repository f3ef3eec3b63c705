import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CatchupQueue } from '../src/sync/catchup-queue.js';
import type { CatchupState, OriginReplica } from '../src/sync/origin-replica.js';
import type { Peer } from '../src/sync/peer-table.js';
import type { SyncContext } from '../src/sync/sync-context.js';

/** A queue of `slots` slots; `started` lists the catch-ups in the order they took a slot, `end` frees one. */
function queue(slots: number) {
  const peers = new Map<string, Peer>();
  const asking = new Map<string, CatchupState>();
  const started: string[] = [];
  const context = { cfg: { fetchConcurrency: slots }, peers, bounds: { hit: () => {} } } as unknown as SyncContext;
  const q: CatchupQueue = new CatchupQueue(context, (peer) => {
    const state: CatchupState = { kind: 'fetching', at: 0 };
    peer.replica.catchup = state;
    asking.set(peer.name, state);
    started.push(peer.name);
    q.take(peer, state);
  });
  const want = (name: string, from?: string): void => {
    const replica = { catchup: { kind: 'idle' }, behind: () => true } as unknown as OriginReplica;
    const peer = { name, replica, verified: false, adopted: from !== undefined, adoptedFrom: from } as Peer;
    peers.set(name, peer);
    q.enter(peer, replica);
  };
  const end = (name: string): void => {
    const peer = peers.get(name);
    const state = asking.get(name);
    if (!peer || !state) throw new Error(`${name} holds no slot`);
    peer.replica.catchup = { kind: 'idle' };
    q.free(state);
    q.drain();
  };
  return { want, end, started };
}

test('origins heard first-hand (a keyed site: nothing adopted) are caught up first come, first served', () => {
  const { want, end, started } = queue(2);
  for (const name of ['a', 'b', 'c', 'd', 'e']) want(name);
  for (const name of ['a', 'b', 'c']) end(name);
  assert.equal(started, ['a', 'b', 'c', 'd', 'e']);
});

test("a forger's made-up names leave a slot to another member's name, and take turns with first-hand ones", () => {
  const { want, end, started } = queue(4);
  for (let i = 0; i < 20; i++) want(`ghost-${i}`, 'forger');
  want('busy', 'member');
  want('heard');
  assert.equal(started, ['ghost-0', 'ghost-1', 'ghost-2', 'busy'], 'the last slot kept from the forger');
  end('ghost-0');
  end('ghost-1');
  end('busy');
  assert.equal(started.slice(4), ['heard', 'ghost-3', 'ghost-4'], 'first-hand, then a forger name, in turn');
});

test.run();
