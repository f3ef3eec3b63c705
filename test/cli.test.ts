import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald, testGroupPort, type Running } from './helpers/process.js';

let dir: string;
const running: Running[] = [];

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'herald-cli-'));
});
test.after.each(async () => {
  for (const r of running.splice(0)) await r.stop('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function agentArgs(profiles: string): string[] {
  return [
    'agent',
    '--profiles',
    profiles,
    '--api',
    '127.0.0.1:0',
    '--peer-port',
    '0',
    '--group',
    `239.255.70.70:${testGroupPort()}`,
    '--site',
    `cli-${process.pid}`,
    '--name',
    'cli-agent',
    '--log-format',
    'json',
    '--interface',
    'lo',
  ];
}

async function startAgent(profiles: string): Promise<{ agent: Running; api: string }> {
  const agent = runHerald(agentArgs(profiles));
  running.push(agent);
  const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'agent started');
  return { agent, api: started.api as string };
}

async function json(url: string): Promise<{ status: number; body: any }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.json() };
}

test('herald check: exit 0 on the samples, exit 1 listing every error with file, line and field', async () => {
  const ok = runHerald(['check', 'device-profiles']);
  assert.is(await ok.exit(), 0);
  assert.match(ok.stdout.join('\n'), /6 devices in 6 files, all valid/);

  await writeFile(join(dir, 'a.yaml'), 'id: a\nname: A\ncapabilities:\n  - id: c\n    kind: sensor\n');
  await writeFile(join(dir, 'b.json'), '{ "id": "B!", "name": "B", "capabilities": [] }');
  const bad = runHerald(['check', dir]);
  assert.is(await bad.exit(), 1);
  const err = bad.stderr.join('\n');
  assert.match(err, /a\.yaml:5:5: capabilities\[0\]\.kind: must be one of/);
  assert.match(err, /b\.json:1:3: id: 'B!' is not a valid id/);
  assert.match(err, /2 errors in /);
});

test('npm start path: the agent serves the profiles, ls finds the sensor, get shows one device', async () => {
  await cp('device-profiles', join(dir, 'profiles'), { recursive: true });
  const { api } = await startAgent(join(dir, 'profiles'));
  const devices = await json(`http://${api}/v1/devices`);
  assert.is(devices.body.count, 6);
  const ls = runHerald(['ls', '--capability', 'temperature', '--api', api]);
  assert.is(await ls.exit(), 0);
  assert.match(ls.stdout.join('\n'), /cli-agent\/greenhouse-climate\s+Greenhouse climate sensor/);
  assert.is(ls.stdout.length, 2, 'a header and the one sensor');
  const get = runHerald(['get', 'cli-agent/gate-camera', '--api', api]);
  assert.is(await get.exit(), 0);
  assert.match(JSON.parse(get.stdout.join('\n')).capabilities[0].endpoint, /^rtsp:\/\/127\.0\.0\.1:554\//);
  const missing = runHerald(['get', 'cli-agent/nothing', '--api', api]);
  assert.is(await missing.exit(), 1);
  assert.match(missing.stderr.join('\n'), /agent 'cli-agent' has no device 'nothing'/);
});

test('a profile dropped in shows in /v1/devices and herald watch within 500 ms; a broken one keeps the old set', async () => {
  const profiles = join(dir, 'profiles');
  await cp('device-profiles', profiles, { recursive: true });
  const { agent, api } = await startAgent(profiles);
  const watch = runHerald(['watch', '--api', api]);
  running.push(watch);
  await new Promise((r) => setTimeout(r, 300)); // let watch connect

  const dropped = Date.now();
  await writeFile(
    join(profiles, 'lamp.yaml'),
    'id: lamp\nname: Porch lamp\ncapabilities:\n  - id: on\n    kind: property\n    type: switch\n',
  );
  await watch.waitFor(
    () => watch.stdout.find((l) => /device-added\s+cli-agent\/lamp/.test(l)),
    2000,
    'watch shows the lamp',
  );
  const elapsed = Date.now() - dropped;
  assert.ok(elapsed < 500, `the new device reached herald watch in ${elapsed} ms`);
  assert.is((await json(`http://${api}/v1/devices/cli-agent/lamp`)).status, 200);

  await writeFile(
    join(profiles, 'lamp.yaml'),
    'id: lamp\nname: Porch lamp\ncapabilities:\n  - id: on\n    kind: lightswitch\n',
  );
  const error = await agent.waitFor(
    () => agent.logs().find((l) => l.level === 50 && l.field === 'capabilities[0].kind'),
    2000,
    'the error is logged',
  );
  assert.match(String(error.file), /lamp\.yaml$/);
  assert.is(error.line, 5);
  assert.is((await json(`http://${api}/v1/devices`)).body.count, 7, 'the last good set is still served');
  const ready = await json(`http://${api}/readyz`);
  assert.match(ready.body.checks.profiles.detail, /last reload refused \(1 errors\)/);
});

test('the agent refuses to start on invalid profiles: every error, exit 78', async () => {
  await writeFile(join(dir, 'x.yaml'), 'id: x\ncapabilities: []\n');
  await writeFile(
    join(dir, 'y.yaml'),
    'id: y\nname: Y\ncapabilities: [{ id: c, kind: event, endpoint: "not a url" }]\n',
  );
  const r = runHerald(agentArgs(dir));
  assert.is(await r.exit(), 78);
  const err = r.stderr.join('\n');
  assert.match(err, /x\.yaml:1:1: name: is required/);
  assert.match(err, /y\.yaml:3:\d+: capabilities\[0\]\.endpoint: 'not a url' is not a URL/);
  assert.match(err, /refusing to start: 2 error\(s\)/);
});

test('bad options: one clear message and exit 64; a bad config file: exit 78', async () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp, number][] = [
    [['agent', '--heartbeat-ms', 'soon'], {}, /--heartbeat-ms: must be a whole number of milliseconds/, 64],
    [['agent', '--frobnicate'], {}, /agent: Unknown option '--frobnicate'/, 64],
    [['agent', '--group', '10.1.1.1:7770'], {}, /is not an IPv4 multicast group/, 64],
    [['agent'], { HERALD_API: 'localhost' }, /environment HERALD_API: expected HOST:PORT, got 'localhost'/, 64],
    [['agent', '--interface', 'nosuch0'], {}, /no interface 'nosuch0' with an IPv4 address; this host has: lo/, 64],
    [['launch'], {}, /unknown command 'launch'/, 64],
  ];
  for (const [args, env, pattern, code] of cases) {
    const r = runHerald(args, { env });
    assert.is(await r.exit(), code, args.join(' '));
    assert.match(r.stderr.join('\n'), pattern);
  }
  const config = join(dir, 'herald.yaml');
  await writeFile(config, 'site: greenhouse\nheartbeatMS: 500\n');
  const r = runHerald(['agent', '--config', config]);
  assert.is(await r.exit(), 78);
  assert.match(r.stderr.join('\n'), /herald\.yaml: unknown key 'heartbeatMS'/);
});

test('--help everywhere', async () => {
  for (const cmd of [[], ['agent'], ['ls'], ['get'], ['watch'], ['check'], ['demo']]) {
    const r = runHerald([...cmd, '--help']);
    assert.is(await r.exit(), 0, cmd.join(' '));
    assert.match(r.stdout.join('\n'), /Usage: herald/);
  }
});

test.run();
