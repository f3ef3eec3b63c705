import '../helpers/no-unhandled.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../../src/directory/directory.js';
import { OTHERS_SETS } from '../../src/sync/others-sets.js';
import { SHED_STATUS } from '../../src/sync/peer-protocol.js';
import { DirectoryPeerService, helloOf } from '../../src/sync/peer-service.js';
import { changesQuery, type Holder } from '../../src/transport/transport.js';
import { FakeClock } from '../../src/util/clock.js';
import { device } from '../helpers/sim.js';

/**
 * s20-attack: a member keeps as a holder of a set (named in its sheds, others-sets.ts) whoever asked it with a
 * `port=`, at the connection's address. One host asking with 8 ports (none an agent's) took all 8 slots: every shed
 * then named that host only, endpoints that hold nothing, and the honest askers it served were named no more.
 */
function member(clock: FakeClock) {
  const directory = new Directory({ clock }, { site: 's' });
  directory.ensureOrigin('a', { local: true });
  directory.ensureOrigin('b', { address: '10.0.0.9', peerPort: 7771 });
  directory.applyDeltas('b', 3, [{ version: 1, added: [device('b-1')], updated: [], removed: [] }]);
  for (let i = 0; i < 3; i++) directory.ensureOrigin(`h${i}`, { address: `10.0.1.${i}`, peerPort: 7771 });
  return new DirectoryPeerService({
    directory,
    clock,
    identity: helloOf({ name: 'a', site: 's', incarnation: 5 }, () => 1, directory),
  });
}

const ask = (port: number) => changesQuery({ origin: 'b', since: 0, incarnation: 3, port });

test('one host asking with many ports is not named in place of the agents served', async () => {
  const clock = new FakeClock();
  const service = member(clock);
  for (let i = 0; i < 3; i++)
    assert.is(service.handle('changes', ask(7771), { address: `10.0.1.${i}`, port: 1 }).status, 200);
  await clock.advance(5000);
  for (let p = 0; p < OTHERS_SETS.burst; p++)
    assert.is(service.handle('changes', ask(9000 + p), { address: '10.0.9.9', port: 1 }).status, 200);
  const named = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const shed = service.handle('changes', ask(7771), { address: `10.0.2.${i}`, port: 1 });
    assert.is(shed.status, SHED_STATUS);
    for (const h of (shed.body as { holders: Holder[] }).holders) named.add(`${h.address}:${h.port}`);
  }
  console.log(`  named: ${[...named].join(' ')}`);
  assert.equal([...named].sort(), ['10.0.1.0:7771', '10.0.1.1:7771', '10.0.1.2:7771'], 'the agents it served');
});

test.run();
