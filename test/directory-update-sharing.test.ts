import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import type { Delta } from '../src/directory/delta.js';
import type { Capability, Device } from '../src/profiles/model.js';
import { FakeClock } from '../src/util/clock.js';

/**
 * Every receiver of a change applies its delta: on the scale step's site 50 agents share a process and the
 * last of them holds the change 49 handlings after the first (issue 18's 20 ms p99 at 0 % loss, change15).
 * An update that leaves a device's capabilities as they were takes the held record's shared copies.
 */

function sensor(location: string, unit = '°C'): Device {
  return {
    id: 'dev-0',
    name: 'agent-1 device 0',
    model: 'BME280',
    location,
    tags: ['bench'],
    names: [],
    capabilities: [
      { id: 'temperature', kind: 'property', type: 'temperature', unit, endpoint: 'http://{address}/0/t' },
      { id: 'humidity', kind: 'property', type: 'humidity', unit: '%', readOnly: true },
    ],
  };
}

/** As a datagram's delta arrives: parsed, every object its own copy. */
const wire = (version: number, added: Device[], updated: Device[]): Delta =>
  JSON.parse(JSON.stringify({ version, added, updated, removed: [] })) as Delta;

/** How many capabilities JSON.stringify was handed while `run` ran. */
function capabilitiesSerialized(run: () => void): number {
  const original = JSON.stringify;
  let count = 0;
  JSON.stringify = ((value: unknown, ...rest: []) => {
    if (value !== null && typeof value === 'object' && 'kind' in value && !('capabilities' in value)) count += 1;
    return original(value, ...rest);
  }) as typeof JSON.stringify;
  try {
    run();
  } finally {
    JSON.stringify = original;
  }
  return count;
}

function held(): Directory {
  const directory = new Directory({ clock: new FakeClock() }, { site: 's' });
  directory.ensureOrigin('agent-1', { address: '127.0.0.1', peerPort: 7001 });
  assert.is(directory.applyDeltas('agent-1', 5, [wire(1, [sensor('hall 0')], [])]), 'applied');
  return directory;
}

test('an update that keeps the capabilities serializes none of them and keeps their shared copies', () => {
  const directory = held();
  const before = directory.device('agent-1', 'dev-0')!;
  const serialized = capabilitiesSerialized(() =>
    assert.is(directory.applyDeltas('agent-1', 5, [wire(2, [], [sensor('hall 1')])]), 'applied'),
  );
  const after = directory.device('agent-1', 'dev-0')!;
  assert.is(after.location, 'hall 1');
  assert.is(serialized, 0);
  assert.is(after.capabilities[0], before.capabilities[0]);
  assert.is(after.capabilities[1], before.capabilities[1]);
});

test('a capability that changed is its own, and reads as sent', () => {
  const directory = held();
  const before = directory.device('agent-1', 'dev-0')!;
  assert.is(directory.applyDeltas('agent-1', 5, [wire(2, [], [sensor('hall 0', 'K')])]), 'applied');
  const after = directory.device('agent-1', 'dev-0')!;
  assert.is.not(after.capabilities[0], before.capabilities[0]);
  assert.is(after.capabilities[0].unit, 'K');
  assert.is(after.capabilities[1], before.capabilities[1]);
  assert.equal(after.capabilities, sensor('hall 0', 'K').capabilities);
});

test('a capability with a field more or less than the held one is not taken from it', () => {
  const directory = held();
  const fewer = sensor('hall 0');
  const temperature: Capability = { ...fewer.capabilities[0] };
  delete temperature.endpoint;
  fewer.capabilities[0] = temperature;
  assert.is(directory.applyDeltas('agent-1', 5, [wire(2, [], [fewer])]), 'applied');
  assert.equal(directory.device('agent-1', 'dev-0')!.capabilities[0], temperature);
  assert.is(directory.applyDeltas('agent-1', 5, [wire(3, [], [sensor('hall 0')])]), 'applied');
  assert.equal(directory.device('agent-1', 'dev-0')!.capabilities[0], sensor('hall 0').capabilities[0]);
});

test('heldVersion names the version of the life asked for only', () => {
  const directory = held();
  assert.is(directory.heldVersion('agent-1', 5), 1);
  assert.is(directory.heldVersion('agent-1', 4), 0);
  assert.is(directory.heldVersion('agent-2', 5), 0);
});

test.run();
