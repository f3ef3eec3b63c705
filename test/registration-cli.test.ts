import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, runHerald, testGroupPort, type Running } from './helpers/process.js';

const run = promisify(execFile);

/** One real agent process on loopback, driven by the herald commands a registrant would run. */
let root: string;
let agent: Running | undefined;
let api: string;
const socket = () => join(root, 'api.sock');
const group = `239.255.70.70:${testGroupPort()}`;
const site = `reg-${process.pid}-${Math.floor(Math.random() * 1e6)}`;

test.before.each(async () => {
  root = await mkdtemp(join(tmpdir(), 'herald-regcli-'));
  await mkdir(join(root, 'profiles'));
  await writeFile(join(root, 'profiles', 'from-file.yaml'), 'id: from-file\nname: From a file\ncapabilities: []\n');
});
test.after.each(async () => {
  await agent?.stop('SIGKILL');
  agent = undefined;
  await rm(root, { recursive: true, force: true });
});

async function startAgent(): Promise<void> {
  agent = runHerald([
    'agent',
    ...['--name', 'solo', '--site', site, '--group', group, '--interface', 'lo', '--discovery', 'multicast'],
    ...['--api', '127.0.0.1:0', '--peer-port', '0', '--api-socket', socket()],
    ...['--profiles', join(root, 'profiles'), '--state-dir', join(root, 'state'), '--log-format', 'json'],
  ]);
  const started = await agent.waitFor(() => agent!.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  api = String(started.api);
}

async function herald(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--api', api], { timeout: 10_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

async function localIds(): Promise<string[]> {
  const res = await request(`http://${api}/v1/local/devices`);
  return ((await res.body.json()) as { devices: { id: string }[] }).devices.map((d) => d.id);
}

test('register, health, ls --health, renew and withdraw from the command line', async () => {
  await startAgent();
  const file = join(root, 'cam.yaml');
  await writeFile(
    file,
    'id: cam\nname: USB camera\ncapabilities:\n  - id: video\n    kind: stream\nchecks:\n  - id: alive\n    type: ttl\n',
  );
  const reg = await herald('register', file, '--ttl', '30s');
  assert.is(reg.code, 0, reg.err);
  assert.match(reg.out, /registered cam \(version 2\)/);
  assert.equal(await localIds(), ['cam', 'from-file']);

  const critical = await herald('ls', '--health', 'critical');
  assert.match(critical.out, /solo\/cam .* critical/);
  const fail = await herald('health', 'cam', 'warn', '--note', 'lens fogged');
  assert.is(fail.code, 0, fail.err);
  assert.match((await herald('ls', '--health', 'warning')).out, /solo\/cam/);
  assert.match((await herald('renew', 'cam')).out, /renewed cam until \d{4}-/);

  const bad = await herald('register', file, '--ttl', 'soon');
  assert.is(bad.code, 1);
  assert.match(bad.err, /ttl: must be from 0.5 to 86400 seconds/);
  const seconds = await herald('register', file, '--ttl', '45');
  assert.is(seconds.code, 0, `a bare number is seconds, as in the API: ${seconds.err}`);
  const cam = await request(`http://${api}/v1/local/devices/cam`);
  assert.is(((await cam.body.json()) as { ttlMs: number }).ttlMs, 45_000);
  const wrongId = await herald('withdraw', 'from-file');
  assert.is(wrongId.code, 1);
  assert.match(wrongId.err, /comes from the profile/);
  assert.match((await herald('withdraw', 'cam')).out, /withdrew cam \(version 4\)/);
  assert.equal(await localIds(), ['from-file']);
});

test('the unix socket is mode 0660 and takes writes; persist: true survives a restart, others do not', async () => {
  await startAgent();
  assert.is((await stat(socket())).mode & 0o777, 0o660);
  const put = async (id: string, persist: boolean) =>
    run('curl', [
      ...['-sS', '-f', '--unix-socket', socket(), '-X', 'PUT', '-H', 'Host: herald.example'],
      ...['--data', JSON.stringify({ name: id, capabilities: [], persist })],
      `http://herald/v1/local/devices/${id}`,
    ]);
  await put('kept', true);
  await put('dropped', false);
  assert.equal(await localIds(), ['dropped', 'from-file', 'kept']);
  await agent!.stop('SIGTERM');
  await startAgent();
  assert.equal(await localIds(), ['from-file', 'kept']);
});

test.run();
