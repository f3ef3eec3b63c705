import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import type { SnapshotEntry } from '../src/directory/records.js';
import { checkDelta } from '../src/protocol/codec.js';
import type { Device } from '../src/profiles/model.js';
import { FakeClock } from '../src/util/clock.js';

/** A sensor as sites deploy them by the hundred: one model, capabilities equal but for an endpoint. */
function sensor(agent: string, k: number): Device {
  return {
    id: `dev-${k}`,
    name: `${agent} device ${k}`,
    model: 'BME280',
    manufacturer: 'Bosch Sensortec',
    location: `hall ${k}`,
    tags: ['bench', `k${k}`],
    names: [],
    capabilities: [
      { id: 'temperature', kind: 'property', type: 'temperature', unit: '°C', endpoint: `http://{address}/${k}/t` },
      { id: 'humidity', kind: 'property', type: 'humidity', unit: '%', readOnly: true },
      { id: 'pressure', kind: 'property', type: 'pressure', unit: 'hPa', readOnly: true },
    ],
  };
}

function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

test('5,000 devices from 100 agents cost the directory under 700 bytes of heap each', () => {
  const before = liveHeap();
  const directory = new Directory({ clock: new FakeClock() }, { site: 'memory' });
  for (let a = 0; a < 100; a++) {
    const name = `agent-${a}`;
    directory.ensureOrigin(name, { address: '127.0.0.1', peerPort: 7000 + a });
    const entries = Array.from({ length: 50 }, (_, k) => ({ version: 1, device: sensor(name, k) }));
    // Parsed as a catch-up answer arrives: every device, capability and string its own copy.
    const wire = JSON.parse(JSON.stringify(entries)) as SnapshotEntry[];
    if (a % 2 === 0) directory.applySnapshot(name, 5, 1, wire);
    else directory.applyDeltas(name, 5, [{ version: 1, added: wire.map((e) => e.device), updated: [], removed: [] }]);
  }
  const perDevice = (liveHeap() - before) / 5000;
  assert.is(directory.devices().length, 5000);
  // Before equal capabilities were shared: 890 bytes a device (now about 610).
  assert.ok(perDevice < 700, `${perDevice.toFixed(0)} bytes of heap a device`);
  // Shared, and still each device's own: a record's capabilities read as they were declared.
  const [first, second] = directory.devices({ agent: 'agent-1' });
  assert.is(first.capabilities[1], second.capabilities[1]);
  assert.equal(first.capabilities, sensor('agent-1', 0).capabilities);
  assert.is(second.capabilities[0].endpoint, 'http://{address}/1/t');
});

test('a site caught up by deltas (as a newcomer takes in 100 agents of 50 devices) holds each device once', () => {
  const before = liveHeap();
  const directory = new Directory({ clock: new FakeClock() }, { site: 'memory' });
  const incarnation = (a: number) => 1_764_300_000_000 + a; // a start time in ms, as agents take it
  for (let a = 0; a < 100; a++) {
    const name = `agent-${a}`;
    directory.ensureOrigin(name, { address: '127.0.0.1', peerPort: 7000 + a });
    const delta = {
      version: 1,
      added: Array.from({ length: 50 }, (_, k) => sensor(name, k)),
      updated: [],
      removed: [],
    };
    // Checked as a catch-up answer's delta is: the validator's own copy of every device.
    assert.is(directory.applyDeltas(name, incarnation(a), [checkDelta(JSON.parse(JSON.stringify(delta)))]), 'applied');
  }
  const perDevice = (liveHeap() - before) / 5000;
  // Before the change log held the records themselves, and the records of one delta one origin stamp:
  // 680-710 bytes a device here (a device object and a record made of it each); now 520-550.
  assert.ok(perDevice < 620, `${perDevice.toFixed(0)} bytes of heap a device`);
  // What the log serves is the device as its origin declared it, without the record's own fields.
  const served = directory.changesSince('agent-7', incarnation(7), 0);
  assert.is(served?.kind, 'deltas');
  if (served?.kind !== 'deltas') return;
  assert.equal(served.deltas[0].added[3], sensor('agent-7', 3));
  const record = directory.device('agent-7', 'dev-3');
  assert.equal(record?.origin, { incarnation: incarnation(7), version: 1 });
  assert.is(record?.agent, 'agent-7');
  // And a later change, as it was offered: updated, removed, and nothing of the record's own.
  const moved = { ...sensor('agent-7', 3), location: 'hall 9' };
  const next = { version: 2, added: [], updated: [moved], removed: ['dev-4'] };
  assert.is(directory.applyDeltas('agent-7', incarnation(7), [next]), 'applied');
  assert.equal(directory.changesSince('agent-7', incarnation(7), 1), {
    kind: 'deltas',
    origin: 'agent-7',
    incarnation: incarnation(7),
    version: 2,
    deltas: [next],
  });
  assert.equal(directory.device('agent-7', 'dev-3')?.origin, { incarnation: incarnation(7), version: 2 });
});

test.run();
