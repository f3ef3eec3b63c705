import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatProfileError, loadProfileDir, parseProfileText } from '../src/profiles/load.js';
import { validateDevice } from '../src/profiles/validate.js';

let dir: string;
test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'herald-profiles-'));
});
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the bundled sample profiles are valid and cover six kinds of device', async () => {
  const set = await loadProfileDir('device-profiles');
  assert.equal(set.errors, []);
  assert.ok(set.devices.length >= 6);
  const kinds = new Set(set.devices.flatMap((d) => d.device.capabilities.map((c) => c.kind)));
  for (const k of ['property', 'action', 'event', 'stream', 'service'])
    assert.ok(kinds.has(k as never), `a sample uses kind ${k}`);
});

test('a YAML error names the field path and the line', () => {
  const text = ['id: lamp', 'name: Lamp', 'capabilities:', '  - id: on', '    kind: sensor', ''].join('\n');
  const r = parseProfileText(text, 'lamp.yaml');
  assert.ok('errors' in r);
  if (!('errors' in r)) return;
  assert.is(r.errors.length, 1);
  assert.is(r.errors[0].field, 'capabilities[0].kind');
  assert.is(r.errors[0].line, 5);
  assert.match(
    formatProfileError(r.errors[0]),
    /^lamp\.yaml:5:5: capabilities\[0\]\.kind: must be one of property, action, event, stream, service; got 'sensor'$/,
  );
});

test('every error in a file is reported at once', () => {
  const text = JSON.stringify(
    {
      id: 'Bad Id',
      capabilities: [
        { id: 'x', kind: 'property', readOnly: 'yes', endpoint: 'http://{addr}/' },
        { id: 'x', kind: 'event' },
      ],
      colour: 'red',
    },
    null,
    2,
  );
  const r = parseProfileText(text, 'bad.json');
  if (!('errors' in r)) return assert.unreachable('expected errors');
  const fields = r.errors.map((e) => e.field).sort();
  assert.equal(
    fields,
    ['capabilities[0].endpoint', 'capabilities[0].readOnly', 'capabilities[1].id', 'colour', 'id', 'name'].sort(),
  );
  assert.ok(
    r.errors.every((e) => typeof e.line === 'number'),
    'JSON errors carry lines too',
  );
  assert.match(r.errors.find((e) => e.field === 'colour')!.message, /unknown field 'colour'/);
  assert.match(r.errors.find((e) => e.field === 'capabilities[0].endpoint')!.message, /unknown placeholder '\{addr\}'/);
});

test('a syntax error carries its line', () => {
  const r = parseProfileText('id: lamp\nname: [unclosed\ncapabilities: []\n', 'x.yaml');
  if (!('errors' in r)) return assert.unreachable('expected errors');
  assert.match(r.errors[0].message, /^syntax error/);
  assert.type(r.errors[0].line, 'number');
});

test('duplicate device ids across files are an error naming both files', async () => {
  await writeFile(join(dir, 'a.yaml'), 'id: lamp\nname: A\ncapabilities: []\n');
  await writeFile(join(dir, 'b.yaml'), 'id: lamp\nname: B\ncapabilities: []\n');
  const set = await loadProfileDir(dir);
  assert.is(set.errors.length, 1);
  assert.match(
    formatProfileError(set.errors[0]),
    /b\.yaml:1:1: id: duplicate device id 'lamp' \(already defined in .*a\.yaml\)/,
  );
});

test('schema.json and hidden or editor files are not read as devices', async () => {
  await writeFile(join(dir, 'schema.json'), '{"type":"object"}');
  await writeFile(join(dir, '.lamp.yaml.swp'), 'garbage');
  await writeFile(join(dir, 'notes.txt'), 'hello');
  await writeFile(join(dir, 'lamp.yml'), 'id: lamp\nname: Lamp\ncapabilities: []\n');
  const set = await loadProfileDir(dir);
  assert.equal(set.errors, []);
  assert.equal(
    set.devices.map((d) => d.device.id),
    ['lamp'],
  );
});

test('a missing folder is one clear error', async () => {
  const set = await loadProfileDir(join(dir, 'nope'));
  assert.is(set.errors.length, 1);
  assert.match(set.errors[0].message, /cannot read profiles folder: no such folder/);
});

test('limits bound what one profile may declare', () => {
  const caps = Array.from({ length: 65 }, (_, i) => ({ id: `c${i}`, kind: 'property' }));
  const r = validateDevice({ id: 'x', name: 'n'.repeat(200), capabilities: caps, tags: ['a', 'a'] });
  assert.not.ok(r.ok);
  if (r.ok) return;
  const messages = r.errors.map((e) => e.message).join('\n');
  assert.match(messages, /at most 64 are allowed/);
  assert.match(messages, /200 characters long, at most 128/);
  assert.match(messages, /duplicate entry 'a'/);
});

test('a valid profile is normalised: optional lists default to empty', () => {
  const r = validateDevice({ id: 'x', name: 'X', capabilities: [{ id: 'c', kind: 'action' }] });
  assert.ok(r.ok);
  if (r.ok)
    assert.equal(r.device, { id: 'x', name: 'X', tags: [], names: [], capabilities: [{ id: 'c', kind: 'action' }] });
});

test.run();
