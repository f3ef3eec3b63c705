import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChangeLog } from '../src/directory/change-log.js';
import { computeDelta } from '../src/directory/delta.js';
import { Directory } from '../src/directory/directory.js';
import { EventJournal } from '../src/directory/event-journal.js';
import { LocalDeviceSet } from '../src/directory/local-device-set.js';
import type { DirectoryEvent } from '../src/directory/records.js';
import { FakeClock } from '../src/util/clock.js';
import { device } from './helpers/sim.js';

const clock = new FakeClock();

test('a delta lists exactly what was added, updated and removed', () => {
  const current = new Map([
    ['a', device('a')],
    ['b', device('b')],
    ['c', device('c')],
  ]);
  const next = [device('a'), device('b', { location: 'moved' }), device('d')];
  const delta = computeDelta(current, next, 7);
  assert.equal(
    delta.added.map((d) => d.id),
    ['d'],
  );
  assert.equal(
    delta.updated.map((d) => d.id),
    ['b'],
  );
  assert.equal(delta.removed, ['c']);
  assert.is(delta.version, 7);
});

test('key order does not make a change', () => {
  const a = { id: 'x', name: 'X', tags: [], names: [], capabilities: [{ id: 'c', kind: 'event' as const, type: 't' }] };
  const b = { capabilities: [{ type: 't', kind: 'event' as const, id: 'c' }], names: [], tags: [], name: 'X', id: 'x' };
  const delta = computeDelta(new Map([['x', a]]), [b], 2);
  assert.equal([delta.added.length, delta.updated.length, delta.removed.length], [0, 0, 0]);
});

test('each effective change is one version; a write that changes nothing makes none', () => {
  const directory = new Directory({ clock }, { site: 's' });
  const local = new LocalDeviceSet(
    { directory },
    { name: 'me', incarnation: 5, address: '10.1.1.1', host: 'me.local' },
  );
  const seen: number[] = [];
  local.onChange((d) => seen.push(d.version));
  local.replaceAll([]);
  assert.is(local.currentVersion, 1, 'the first set is version 1 even when empty');
  local.replaceAll([device('a')]);
  assert.is(local.replaceAll([device('a')]), undefined);
  local.replaceAll([device('a'), device('b')]);
  assert.equal(seen, [1, 2, 3]);
  assert.is(directory.held('me')!.version, 3);
});

test('endpoints are expanded with the agent address and host before anyone sees them', () => {
  const directory = new Directory({ clock }, { site: 's' });
  const local = new LocalDeviceSet(
    { directory },
    { name: 'me', incarnation: 5, address: '10.1.1.1', host: 'pi.local' },
  );
  local.replaceAll([
    device('cam', { capabilities: [{ id: 's', kind: 'stream', endpoint: 'rtsp://{address}:554/{host}' }] }),
  ]);
  assert.is(directory.device('me', 'cam')!.capabilities[0].endpoint, 'rtsp://10.1.1.1:554/pi.local');
});

test('the change log answers "since N" or says a snapshot is needed', () => {
  const log = new ChangeLog(0, 3, 1000);
  for (let v = 1; v <= 5; v++) log.append({ version: v, added: [device(`d${v}`)], updated: [], removed: [] });
  assert.equal(
    log.since(4)!.map((d) => d.version),
    [5],
  );
  assert.equal(
    log.since(2)!.map((d) => d.version),
    [3, 4, 5],
  );
  assert.equal(log.since(5), []);
  assert.is(log.since(1), undefined, 'version 2 fell out of the log');
  assert.throws(() => log.append({ version: 9, added: [], updated: [], removed: [] }), /expects version 6/);
});

test('the change log is also bounded by the devices it carries', () => {
  const log = new ChangeLog(0, 100, 10);
  const many = Array.from({ length: 6 }, (_, i) => device(`d${i}`));
  log.append({ version: 1, added: many, updated: [], removed: [] });
  log.append({ version: 2, added: many, updated: [], removed: [] });
  assert.is(log.since(0), undefined);
  assert.equal(
    log.since(1)!.map((d) => d.version),
    [2],
  );
});

function peerDirectory(): { d: Directory; events: DirectoryEvent[] } {
  const d = new Directory({ clock }, { site: 's' });
  const events: DirectoryEvent[] = [];
  d.subscribe((e) => events.push(e));
  d.ensureOrigin('pi');
  return { d, events };
}

test('deltas apply in order; a gap applies nothing past it', () => {
  const { d } = peerDirectory();
  assert.is(d.applyDeltas('pi', 9, [{ version: 1, added: [device('a')], updated: [], removed: [] }]), 'applied');
  assert.is(d.applyDeltas('pi', 9, [{ version: 3, added: [device('c')], updated: [], removed: [] }]), 'gap');
  assert.is(d.applyDeltas('pi', 9, [{ version: 1, added: [device('a')], updated: [], removed: [] }]), 'stale');
  assert.equal(d.held('pi'), { incarnation: 9, version: 1, state: 'alive' });
});

test('changesSince serves deltas, or a snapshot for another incarnation or a short log', () => {
  const { d } = peerDirectory();
  d.applyDeltas('pi', 9, [{ version: 1, added: [device('a')], updated: [], removed: [] }]);
  d.applyDeltas('pi', 9, [{ version: 2, added: [device('b')], updated: [], removed: [] }]);
  const c = d.changesSince('pi', 9, 1)!;
  assert.is(c.kind, 'deltas');
  const s = d.changesSince('pi', 8, 1)!;
  assert.is(s.kind, 'snapshot');
  if (s.kind === 'snapshot')
    assert.equal(
      s.entries.map((e) => [e.device.id, e.version]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
  assert.is(d.changesSince('nobody', 1, 0), undefined);
});

test('a restart (new incarnation) replaces the old set: no ghosts, and only real differences are events', () => {
  const { d, events } = peerDirectory();
  d.applyDeltas('pi', 9, [
    { version: 1, added: [device('a'), device('b'), device('ghost')], updated: [], removed: [] },
  ]);
  events.length = 0;
  d.applySnapshot('pi', 10, 4, [
    { version: 1, device: device('a') },
    { version: 4, device: device('b', { location: 'x' }) },
  ]);
  assert.equal(
    d.devices().map((r) => r.id),
    ['a', 'b'],
  );
  assert.equal(
    events.map((e) => `${e.type}:${'id' in e ? e.id : 'device' in e ? e.device.id : ''}`),
    ['device-updated:b', 'device-removed:ghost'],
  );
  assert.equal(d.device('pi', 'b')!.origin, { incarnation: 10, version: 4 });
});

test('lost agents leave /v1/devices but stay visible with include=lost', () => {
  const { d, events } = peerDirectory();
  d.applyDeltas('pi', 9, [{ version: 1, added: [device('a', { tags: ['t'] })], updated: [], removed: [] }]);
  d.markLost('pi');
  assert.equal(d.devices(), []);
  assert.equal(
    d.devices({ includeLost: true }).map((r) => r.id),
    ['a'],
  );
  assert.is(events.at(-1)!.type, 'agent-lost');
  d.touch('pi');
  assert.is(d.devices({ tag: 't' }).length, 1);
  assert.is(events.at(-1)!.type, 'agent-joined');
});

test('filters: capability id or type, kind, tag, agent and global-name prefix', () => {
  const { d } = peerDirectory();
  d.applyDeltas('pi', 9, [
    {
      version: 1,
      updated: [],
      removed: [],
      added: [
        device('climate', {
          tags: ['env'],
          names: ['greenhouse/climate'],
          capabilities: [{ id: 'temp', kind: 'property', type: 'temperature' }],
        }),
        device('cam', { names: ['greenhouses'], capabilities: [{ id: 'main', kind: 'stream', type: 'video' }] }),
      ],
    },
  ]);
  const ids = (f: Parameters<Directory['devices']>[0]) => d.devices(f).map((r) => r.id);
  assert.equal(ids({ capability: 'temperature' }), ['climate']);
  assert.equal(ids({ capability: 'main' }), ['cam']);
  assert.equal(ids({ kind: 'stream' }), ['cam']);
  assert.equal(ids({ tag: 'env' }), ['climate']);
  assert.equal(ids({ name: 'greenhouse' }), ['climate'], 'prefix matches on segment boundaries only');
  assert.equal(ids({ agent: 'other' }), []);
});

test('naming tree: agent/device/capability, global names, and conflicts listed with a deterministic winner', () => {
  const d = new Directory({ clock }, { site: 's' });
  for (const name of ['zeta', 'alpha']) {
    d.ensureOrigin(name);
    d.applyDeltas(name, 1, [
      { version: 1, updated: [], removed: [], added: [device('climate', { names: ['greenhouse/climate'] })] },
    ]);
  }
  const bound = d.lookup('greenhouse/climate')!;
  assert.is(bound.kind, 'device');
  if (bound.kind !== 'device') return;
  assert.is(bound.device.agent, 'alpha');
  assert.equal(bound.conflict!.candidates, [
    { agent: 'alpha', id: 'climate' },
    { agent: 'zeta', id: 'climate' },
  ]);
  assert.equal(d.lookup('greenhouse'), {
    path: 'greenhouse',
    kind: 'branch',
    children: [{ name: 'climate', kind: 'name' }],
  });
  const cap = d.lookup('zeta/climate/value')!;
  assert.is(cap.kind, 'capability');
  assert.is(d.lookup('zeta/nothing'), undefined);
  const root = d.lookup('')!;
  assert.equal(root.kind === 'branch' && root.children.map((c) => c.name), ['alpha', 'greenhouse', 'zeta']);
  d.markLost('alpha');
  const after = d.lookup('greenhouse/climate')!;
  assert.ok(
    after.kind === 'device' && after.device.agent === 'zeta' && !after.conflict,
    'a lost agent no longer binds names',
  );
});

test('event journal: resume after an id, or reset when it is gone or from another run', () => {
  const j = new EventJournal('run1', 3);
  for (let i = 0; i < 5; i++) j.record({ type: 'device-removed', agent: 'a', id: `d${i}` });
  const r = j.since('run1-3');
  assert.equal(r.kind === 'events' && r.entries.map((e) => e.id), ['run1-4', 'run1-5']);
  assert.is(j.since('run1-1').kind, 'reset');
  assert.is(j.since('run0-4').kind, 'reset');
  assert.is(j.since('garbage').kind, 'reset');
});

test('event journal: keeps exactly its capacity for resuming, however it trims', () => {
  const j = new EventJournal('run1', 8);
  for (let i = 1; i <= 30; i++) {
    j.record({ type: 'device-removed', agent: 'a', id: `d${i}` });
    // The oldest id it can resume after is the one just before its last 8 entries.
    const oldest = Math.max(0, i - 8);
    const r = j.since(`run1-${oldest}`);
    assert.equal(r.kind === 'events' && r.entries.map((e) => e.seq), range(oldest + 1, i), `after ${i}`);
    if (oldest > 0) assert.is(j.since(`run1-${oldest - 1}`).kind, 'reset', `after ${i}`);
  }
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

test.run();
