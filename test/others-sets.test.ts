import './helpers/no-unhandled.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import { PeerHttpServer } from '../src/http/peer-server.js';
import { OTHERS_SETS } from '../src/sync/others-sets.js';
import { HOLDERS_NAMED, SHED_STATUS } from '../src/sync/peer-protocol.js';
import { DirectoryPeerService, helloOf } from '../src/sync/peer-service.js';
import { HttpPeerClient } from '../src/transport/http-peer-client.js';
import { changesQuery, PeerRequestError, type Holder } from '../src/transport/transport.js';
import { FakeClock, systemClock, type Clock } from '../src/util/clock.js';
import { device } from './helpers/sim.js';

/** Member 'a' holding its own set and origin 'b''s (incarnation 3, version 1). */
function member(clock: Clock) {
  const directory = new Directory({ clock }, { site: 's' });
  directory.ensureOrigin('a', { local: true });
  directory.applyDeltas('a', 5, [{ version: 1, added: [device('a-1')], updated: [], removed: [] }]);
  directory.ensureOrigin('b', { address: '10.0.0.9', peerPort: 7771 });
  directory.applyDeltas('b', 3, [{ version: 1, added: [device('b-1'), device('b-2')], updated: [], removed: [] }]);
  // The askers below, agents it knows (only an agent's endpoint is kept as a holder: attacks/shed-holders-forged).
  for (let i = 0; i < 8; i++) directory.ensureOrigin(`c${i}`, { address: `10.0.1.${i}`, peerPort: 7000 + i });
  for (let i = 1; i < 8; i++) directory.ensureOrigin(`l${i}`, { address: '127.0.0.1', peerPort: 7000 + i });
  return new DirectoryPeerService({
    directory,
    clock,
    identity: helloOf({ name: 'a', site: 's', incarnation: 5 }, () => 1, directory),
  });
}

const ask = (origin: string, incarnation: number, port?: number) =>
  changesQuery({ origin, since: 0, incarnation, ...(port !== undefined && { port }) });

test('a member serves others sets 8 at once and 2 a second; past them a 503 names the askers it served, in turn', async () => {
  const clock = new FakeClock();
  const service = member(clock);
  const served: number[] = [];
  for (let i = 0; i < OTHERS_SETS.burst; i++) {
    const from = { address: `10.0.1.${i}`, port: 40000 };
    served.push(service.handle('changes', ask('b', 3, 7000 + i), from).status);
  }
  assert.equal(served, Array(OTHERS_SETS.burst).fill(200));
  const named: Holder[][] = [];
  for (let i = 0; i < 4; i++) {
    const shed = service.handle('changes', ask('b', 3, 7100 + i), { address: `10.0.2.${i}`, port: 40000 });
    assert.is(shed.status, SHED_STATUS);
    named.push((shed.body as { holders: Holder[] }).holders);
  }
  assert.equal(named[0], [
    { address: '10.0.1.0', port: 7000, version: 1 },
    { address: '10.0.1.1', port: 7001, version: 1 },
    { address: '10.0.1.2', port: 7002, version: 1 },
  ]);
  assert.is(named[1][0].port, 7001, 'the next shed names the next holders');
  assert.ok(named.every((h) => h.length === HOLDERS_NAMED));
  // Its own set is always served, and so is a paged snapshot's later page.
  for (let i = 0; i < 20; i++)
    assert.is(service.handle('changes', ask('a', 5), { address: '10.0.3.1', port: 1 }).status, 200);
  const later = ask('b', 3, 7200);
  later.set('after', 'b-1');
  assert.is.not(service.handle('changes', later, { address: '10.0.3.2', port: 1 }).status, SHED_STATUS);
  await clock.advance(1000);
  const after = [0, 1, 2].map(
    (i) => service.handle('changes', ask('b', 3), { address: `10.0.4.${i}`, port: 1 }).status,
  );
  assert.equal(after, [200, 200, SHED_STATUS], `${OTHERS_SETS.perSecond} a second`);
});

test('over HTTP the shed is a PeerRequestError "shed" with the holders named; an asker without port is not kept', async () => {
  const clock = systemClock();
  const server = new PeerHttpServer(
    member(clock),
    { host: '127.0.0.1', port: 0 },
    { clock, ratePerSecond: 1e6, burst: 1e6 },
  );
  const { port } = await server.start();
  const client = new HttpPeerClient();
  try {
    const peer = { address: '127.0.0.1', port };
    await client.changes(peer, { origin: 'b', since: 0, incarnation: 3 }, 2000); // no port: not a holder
    for (let i = 1; i < OTHERS_SETS.burst; i++)
      await client.changes(peer, { origin: 'b', since: 0, incarnation: 3, port: 7000 + i }, 2000);
    const err = await client
      .changes(peer, { origin: 'b', since: 0, incarnation: 3, port: 7100 }, 2000)
      .catch((e: unknown) => e);
    assert.instance(err, PeerRequestError);
    assert.is((err as PeerRequestError).reason, 'shed');
    assert.equal(
      (err as PeerRequestError).holders.map((h) => h.port),
      [7001, 7002, 7003],
    );
    assert.is((err as PeerRequestError).holders[0].address, '127.0.0.1');
    const own = await client.changes(peer, { origin: 'a', since: 0, incarnation: 5, port: 7100 }, 2000);
    assert.is(own?.origin, 'a', 'its own set is served');
  } finally {
    await client.close();
    await server.stop();
  }
});

test.run();
