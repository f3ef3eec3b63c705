import './helpers/no-unhandled.js';
import { get } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory, type Changes } from '../src/directory/directory.js';
import { LocalDeviceSet } from '../src/directory/local-device-set.js';
import { MEMO_DEVICES } from '../src/directory/snapshot-memo.js';
import { PeerHttpServer } from '../src/http/peer-server.js';
import { FakeClock, systemClock } from '../src/util/clock.js';
import { device } from './helpers/sim.js';

/** An origin 'o' (incarnation 7) holding `ids`. */
function origin(ids: string[]): { dir: Directory; local: LocalDeviceSet } {
  const dir = new Directory({ clock: new FakeClock() }, { site: 's' });
  const local = new LocalDeviceSet({ directory: dir }, { name: 'o', incarnation: 7, address: '10.0.0.1', host: 'o' });
  local.replaceAll(ids.map((id) => device(id)));
  return { dir, local };
}

const ids = (c: Changes | undefined) => (c?.kind === 'snapshot' ? c.entries.map((e) => e.device.id) : []);

test('every asker of an origin version gets the one snapshot built of it; a change builds the next one', () => {
  const { dir, local } = origin(['a', 'b']);
  const first = dir.changesSince('o', 0, 0);
  assert.is(first?.kind, 'snapshot');
  assert.is(dir.changesSince('o', 0, 0), first, 'a second asker: the same answer, not a copy built again');
  assert.is(dir.changesSince('o', 3, 0), first, 'an asker of another life: the same snapshot');
  assert.ok(Object.isFrozen(first) && first?.kind === 'snapshot' && Object.isFrozen(first.entries), 'never changed');
  local.replaceAll([device('a'), device('b'), device('c')]);
  const next = dir.changesSince('o', 0, 0);
  assert.is.not(next, first, 'a new version: a new snapshot');
  assert.equal(ids(next), ['a', 'b', 'c']);
  assert.equal(ids(first), ['a', 'b'], 'the old answer still says what it said');
  assert.is(next?.version, dir.changesSince('o', 0, 0)?.version);
  assert.is(dir.changesSince('o', 7, first.version)?.kind, 'deltas', 'an asker the log reaches back to: deltas');
});

test('a large own set is built per asker: its copy and bytes are not kept resident', () => {
  const { dir } = origin(Array.from({ length: MEMO_DEVICES + 1 }, (_, i) => `d${i}`));
  const first = dir.changesSince('o', 0, 0);
  assert.is(ids(first).length, MEMO_DEVICES + 1);
  assert.is.not(dir.changesSince('o', 0, 0), first);
  assert.not.ok(Object.isFrozen(first), 'not frozen: the peer server does not keep its bytes');
});

test('the peer server serialises a frozen answer object once, however many ask for it', async () => {
  let serialised = 0;
  const body = Object.freeze({ toJSON: () => (serialised++, { kind: 'snapshot', entries: [] }) });
  const server = new PeerHttpServer(
    { handle: () => ({ status: 200, body }) },
    { host: '127.0.0.1', port: 0 },
    {
      clock: systemClock(),
    },
  );
  const { port } = await server.start();
  const ask = () =>
    new Promise<string>((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/v1/peer/changes?origin=o', agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject),
    );
  try {
    for (let i = 0; i < 3; i++) assert.equal(JSON.parse(await ask()), { kind: 'snapshot', entries: [] });
    assert.is(serialised, 1);
  } finally {
    await server.stop();
  }
});

test.run();
