import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import type { SnapshotEntry } from '../src/directory/records.js';
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

test.run();
