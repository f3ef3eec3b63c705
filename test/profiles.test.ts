import { copyFile, mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatProfileError, loadProfileDir, loadProfilePaths, parseProfileText } from '../src/profiles/load.js';
import { PROFILE_LIMITS } from '../src/profiles/model.js';
import { FolderProfileSource } from '../src/profiles/source.js';
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
    /b\.yaml:1:1: id: duplicate device id 'lamp' \(already defined in .*a\.yaml:1, an older file\)/,
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
  if (!r.ok) return assert.unreachable('expected a device');
  assert.equal(r.device, { id: 'x', name: 'X', tags: [], names: [], capabilities: [{ id: 'c', kind: 'action' }] });
});

test('more than 20 YAML aliases, or aliases that expand too far, are an error about the file, never a throw', () => {
  const many = [
    'id: bomb',
    'name: Bomb',
    'x: &a [1]',
    'tags:',
    ...Array<string>(21).fill('  - *a'),
    'capabilities: []',
  ];
  const r = parseProfileText(many.join('\n'), 'bomb.yaml');
  if (!('errors' in r)) return assert.unreachable('expected errors');
  assert.is(formatProfileError(r.errors[0]), 'bomb.yaml: 21 YAML aliases (*name); a profile may use at most 20');
  const nested = [
    'id: laughs',
    'name: L',
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
    'c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    'capabilities: []',
  ];
  const n = parseProfileText(nested.join('\n'), 'laughs.yaml');
  if (!('errors' in n)) return assert.unreachable('expected errors');
  assert.match(n.errors[0].message, /^cannot be read as data: /);
  const few = parseProfileText('id: ok\nname: &n OK\ntags: [*n]\ncapabilities: []\n', 'few.yaml');
  assert.ok('device' in few, 'a few aliases are fine');
});

test('a JSON file is told its errors in JSON terms, with line and column', () => {
  const r = parseProfileText('{\n  "id": "x",\n  "name": "X",\n}\n', 'trailing.json');
  if (!('errors' in r)) return assert.unreachable('expected errors');
  assert.is(r.errors.length, 1);
  assert.is(
    formatProfileError(r.errors[0]),
    'trailing.json:4:1: JSON syntax error: Expected double-quoted property name',
  );
  const y = parseProfileText('id: x\nname: [unclosed\n', 'x.yaml');
  if (!('errors' in y)) return assert.unreachable('expected errors');
  assert.not.match(y.errors[0].message, /JSON/);
});

test('a JSON profile saved with a byte-order mark (Windows editors) is read, as YAML ones are', () => {
  const text = '\uFEFF{"id": "bom", "name": "Saved by Notepad", "capabilities": []}\n';
  const json = parseProfileText(text, 'bom.json');
  assert.ok('device' in json, JSON.stringify(json));
  const yaml = parseProfileText('\uFEFFid: bom\nname: Saved by Notepad\ncapabilities: []\n', 'bom.yaml');
  assert.ok('device' in yaml, JSON.stringify(yaml));
  // A JSON error after position 0 keeps its place in the text, and V8's offset is not left in the words.
  const r = parseProfileText('\uFEFF{"id": "x"}\n\n  {', 'late.json');
  if (!('errors' in r)) return assert.unreachable('expected errors');
  assert.is(
    formatProfileError(r.errors[0]),
    'late.json:3:3: JSON syntax error: Unexpected non-whitespace character after JSON',
  );
});

test('more profiles than one agent may offer: at most the limit is served, the rest are refused', async () => {
  const limit = PROFILE_LIMITS.devicesPerAgent;
  for (let i = 0; i <= limit; i++) {
    const id = `d${String(i).padStart(4, '0')}`;
    await writeFile(join(dir, `${id}.yaml`), `id: ${id}\nname: D\ncapabilities: []\n`);
  }
  const set = await loadProfileDir(dir);
  // Peers refuse a snapshot or delta of more than the limit: serving them all would reach nobody.
  assert.ok(set.devices.length <= limit, `${set.devices.length} devices served`);
  assert.is(set.errors.length, 1);
  assert.match(formatProfileError(set.errors[0]), /d1024\.yaml: .*at most 1024/);
});

test('the profiles folder replaced as a whole (a deploy, a symlink swap): changes in the new one still reload', async () => {
  const live = join(dir, 'profiles');
  await mkdir(live);
  let changes = 0;
  const source = new FolderProfileSource(live, 20);
  const stop = source.watch(() => void (changes += 1));
  const settle = () => new Promise((r) => setTimeout(r, 250));
  try {
    // A deploy tool builds the new folder beside the old one, then swaps it in.
    await mkdir(`${live}.new`);
    await writeFile(join(`${live}.new`, 'a.yaml'), 'id: a\nname: A\ncapabilities: []\n');
    await rm(live, { recursive: true });
    await rename(`${live}.new`, live);
    await settle();
    const afterSwap = changes;
    assert.ok(afterSwap >= 1, 'the swap itself is seen');
    await writeFile(join(live, 'b.yaml'), 'id: b\nname: B\ncapabilities: []\n');
    await settle();
    assert.ok(changes > afterSwap, 'a profile dropped in the new folder is seen');

    // A symlink moved to another release: no event reaches the old target; SIGHUP's load re-arms.
    const releases = [join(dir, 'r1'), join(dir, 'r2')];
    for (const r of releases) await mkdir(r);
    const link = join(dir, 'current');
    await symlink(releases[0], link);
    let linkChanges = 0;
    const linked = new FolderProfileSource(link, 20);
    const unlink = linked.watch(() => void (linkChanges += 1));
    try {
      await symlink(releases[1], `${link}.tmp`);
      await rename(`${link}.tmp`, link);
      await linked.load(); // the reload SIGHUP asks for
      await writeFile(join(releases[1], 'c.yaml'), 'id: c\nname: C\ncapabilities: []\n');
      await settle();
      assert.ok(linkChanges >= 1, 'a profile dropped in the new release is seen');
    } finally {
      unlink();
    }
  } finally {
    stop();
  }
});

test('errors are sorted by file and line; a copied profile is blamed, not the original', async () => {
  await writeFile(
    join(dir, 'b.yaml'),
    'id: b\nname: B\ncapabilities:\n  - id: c\n    kind: x\n  - id: d\n    kind: y\n',
  );
  await writeFile(join(dir, 'a.json'), '{ "id": "A!", "name": "A", "capabilities": [] }');
  await writeFile(join(dir, 'zz-camera.yaml'), 'id: camera\nname: Camera\ncapabilities: []\n');
  await utimes(join(dir, 'zz-camera.yaml'), new Date(1_000_000), new Date(1_000_000));
  await copyFile(join(dir, 'zz-camera.yaml'), join(dir, 'camera-copy.yaml')); // newer, sorts first
  const set = await loadProfileDir(dir);
  const lines = set.errors.map(formatProfileError);
  assert.is(lines.length, 4, lines.join('\n'));
  assert.match(lines[0], /a\.json:1:3: id: /);
  assert.match(lines[1], /b\.yaml:5:\d+: capabilities\[0\]\.kind/);
  assert.match(lines[2], /b\.yaml:7:\d+: capabilities\[1\]\.kind/);
  assert.match(
    lines[3],
    /camera-copy\.yaml:1:1: id: duplicate device id 'camera' \(already defined in .*zz-camera\.yaml:1/,
  );
  assert.equal(
    set.devices.map((d) => d.device.id),
    ['camera'],
  );
  assert.match(set.devices[0].file, /zz-camera\.yaml$/);
});

test('herald check takes files and folders alike', async () => {
  await writeFile(join(dir, 'lamp.yaml'), 'id: lamp\nname: Lamp\ncapabilities: []\n');
  const set = await loadProfilePaths(['device-profiles/gate-camera.yaml', dir]);
  assert.equal(set.errors, []);
  assert.equal(set.devices.map((d) => d.device.id).sort(), ['gate-camera', 'lamp']);
  const missing = await loadProfilePaths([join(dir, 'nope.yaml')]);
  assert.match(formatProfileError(missing.errors[0]), /nope\.yaml: cannot read: ENOENT/);
});

test.run();
