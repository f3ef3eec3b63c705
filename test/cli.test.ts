import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentConfig } from '../src/config/options.js';
import { parseSse, type SseEvent } from '../src/cli/sse-parser.js';
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

/**
 * A watcher that connects after a change misses it: drop a new profile each half second until the
 * watcher shows one (on a loaded machine a process can take seconds to start).
 */
async function untilWatching(watch: Running, profiles: string): Promise<void> {
  for (let n = 0; n < 20; n++) {
    if (watch.stdout.length > 0) return; // any event: the watcher is connected
    await writeFile(join(profiles, `warm-up-${n}.yaml`), `id: warm-up-${n}\nname: W\ncapabilities: []\n`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('herald watch never showed a change');
}

/** Waits until `done` holds or `ms` pass, whichever is first (the next change is due then). */
async function untilOrMs(done: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 25));
}

async function startAgent(profiles: string): Promise<{ agent: Running; api: string }> {
  const agent = runHerald(agentArgs(profiles));
  running.push(agent);
  const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'agent started');
  return { agent, api: started.api as string };
}

/** A JSON answer, read loosely: the test says which fields it expects. */
type Loose = Record<string, unknown> & {
  count?: number;
  id?: string;
  event?: string;
  capabilities?: { endpoint?: string }[];
  checks?: Record<string, { detail?: string }>;
};

function parse(text: string): Loose {
  return JSON.parse(text) as Loose;
}

async function json(url: string): Promise<{ status: number; body: Loose }> {
  const res = await request(url);
  return { status: res.statusCode, body: (await res.body.json()) as Loose };
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

  // A file as well as folders; a YAML bomb and a JSON typo: errors in file order, no stack trace.
  const more = join(dir, 'more');
  await mkdir(more);
  await writeFile(join(more, 'bomb.yaml'), YAML_BOMB.join('\n') + '\n');
  await writeFile(join(more, 'typo.json'), '{\n  "id": "t",\n  "name": "T",\n}\n');
  const mixed = runHerald(['check', 'device-profiles/gate-camera.yaml', more]);
  assert.is(await mixed.exit(), 1);
  assert.equal(mixed.stderr.slice(0, 2), [
    `${join(more, 'bomb.yaml')}: 25 YAML aliases (*name); a profile may use at most 20`,
    `${join(more, 'typo.json')}:4:1: JSON syntax error: Expected double-quoted property name`,
  ]);
  noStackTrace(mixed, 'check on a YAML bomb');
  const one = runHerald(['check', 'device-profiles/gate-camera.yaml']);
  assert.is(await one.exit(), 0, 'a single file is checked, not refused as "not a folder"');
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
  assert.match(parse(get.stdout.join('\n')).capabilities![0].endpoint!, /^rtsp:\/\/127\.0\.0\.1:554\//);
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
  await untilWatching(watch, profiles);
  const before = (await json(`http://${api}/v1/devices`)).body.count ?? 0;

  const dropped = Date.now();
  await writeFile(
    join(profiles, 'lamp.yaml'),
    'id: lamp\nname: Porch lamp\ncapabilities:\n  - id: on\n    kind: property\n    type: switch\n',
  );
  await watch.waitFor(
    () => watch.stdout.find((l) => /device-added\s+cli-agent\/lamp\s/.test(l)),
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
  assert.is((await json(`http://${api}/v1/devices`)).body.count, before + 1, 'the last good set is still served');
  const ready = await json(`http://${api}/readyz`);
  assert.match(ready.body.checks!.profiles.detail!, /last reload refused \(1 errors\)/);
});

/** The events of /v1/events from the start of this agent's journal (Last-Event-ID `<incarnation>-0`). */
async function eventsSinceStart(api: string, incarnation: number, until: string): Promise<SseEvent[]> {
  const res = await request(`http://${api}/v1/events`, {
    headers: { 'last-event-id': `${incarnation}-0` },
    signal: AbortSignal.timeout(5000),
  });
  const events: SseEvent[] = [];
  for await (const e of parseSse(res.body)) {
    events.push(e);
    if (e.event === until) break;
  }
  res.body.destroy();
  return events;
}

const YAML_BOMB = [
  'id: bomb',
  'name: Bomb',
  'x: &a [1]',
  'tags:',
  ...Array<string>(25).fill('  - *a'),
  'capabilities: []',
];

test('at start one bad and five good profiles: five served, the bad one in /readyz, the gauge and the events', async () => {
  const profiles = join(dir, 'profiles');
  await cp('device-profiles', profiles, { recursive: true });
  await rm(join(profiles, 'greenhouse-climate.yaml'));
  await writeFile(join(profiles, 'typo.yaml'), 'id: typo\nname: Typo\ncapabilities:\n  - id: c\n    kind: sensr\n');
  const agent = runHerald(agentArgs(profiles));
  running.push(agent);
  const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  const api = started.api as string;
  assert.is((await json(`http://${api}/v1/devices`)).body.count, 5, 'the five good profiles are served');
  const ready = await json(`http://${api}/readyz`);
  assert.is(ready.status, 200);
  assert.match(
    ready.body.checks!.profiles.detail!,
    /1 profile\(s\) refused at start; serving 5 devices.*typo\.yaml:5:\d+/,
  );
  const metrics = await (await request(`http://${api}/metrics`)).body.text();
  assert.match(metrics, /^herald_profiles_refused 1$/m);
  const logged = agent.logs().find((l) => l.level === 50 && String(l.file).endsWith('typo.yaml'));
  assert.ok(logged, 'the refused profile is logged as an error');
  const incarnation = Number(agent.logs().find((l) => l.msg === 'agent started')!.incarnation);
  const events = await eventsSinceStart(api, incarnation, 'profiles-refused');
  const refused = events.find((e) => e.event === 'profiles-refused');
  assert.ok(refused, `a profiles-refused event among ${events.map((e) => e.event).join(', ')}`);
  const data = JSON.parse(refused.data) as { when: string; serving: number; errors: { file: string; line: number }[] };
  assert.equal([data.when, data.serving, data.errors.length], ['start', 5, 1]);
  assert.match(data.errors[0].file, /typo\.yaml$/);

  // A YAML bomb dropped into the watched folder: refused, reported to herald watch; the agent lives on.
  const watch = runHerald(['watch', '--api', api]);
  running.push(watch);
  await untilWatching(watch, profiles);
  const served = (await json(`http://${api}/v1/devices`)).body.count ?? 0;
  await writeFile(join(profiles, 'bomb.yaml'), YAML_BOMB.join('\n') + '\n');
  const line = await watch.waitFor(
    () => watch.stdout.find((l) => l.includes('profiles-refused') && l.includes('bomb')),
    5000,
    'the refusal in herald watch',
  );
  assert.match(line, /profiles-refused\s+cli-agent\s+2 error\(s\), serving 5 devices: .*bomb\.yaml: 25 YAML aliases/);
  assert.is((await json(`http://${api}/livez`)).status, 200, 'the agent is alive');
  assert.is((await json(`http://${api}/v1/devices`)).body.count, served, 'the last set is kept');
});

test('herald watch resyncs by itself when the agent restarts (a reset), instead of printing it raw', async () => {
  const port = await closedPort();
  const profiles = join(dir, 'profiles');
  await cp('device-profiles', profiles, { recursive: true });
  const args = agentArgs(profiles).map((a) => (a === '127.0.0.1:0' ? `127.0.0.1:${port}` : a));
  const first = runHerald(args);
  running.push(first);
  await first.waitFor(() => first.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  const watch = runHerald(['watch', '--api', `127.0.0.1:${port}`]);
  running.push(watch);
  await untilWatching(watch, profiles); // an event of the first life: the id watch resumes from
  await first.stop('SIGTERM');
  const again = runHerald(args); // a new incarnation: the old event ids mean nothing to it
  running.push(again);
  await again.waitFor(() => again.logs().find((l) => l.msg === 'agent started'), 8000, 'started again');
  const line = await watch.waitFor(() => watch.stdout.find((l) => l.includes('resync')), 8000, 'resync');
  assert.match(line, /resync\s+\d+ devices of 1 agents \(the agent restarted/);
  assert.not.match(watch.stdout.join('\n'), /reset/, 'no raw reset');
});

test('herald watch with a filter resyncs to the filtered list, not every device', async () => {
  const { api } = await startAgent('device-profiles');
  // An index from another life of the agent: the stream opens with a reset, as after a restart.
  const watch = runHerald(['watch', '--api', api, '--tag=printer', '--index=1-1']);
  running.push(watch);
  const line = await watch.waitFor(() => watch.stdout.find((l) => l.includes('resync')), 8000, 'resync');
  assert.match(line, /resync\s+1 devices of 1 agents/, 'only the office printer has the tag');
  const json = runHerald(['watch', '--api', api, '--tag=printer', '--index=1-1', '--json']);
  running.push(json);
  const first = await json.waitFor(() => json.stdout[0], 8000, 'resync as JSON');
  const ids = (parse(first).data as { devices: { id: string }[] }).devices.map((d) => d.id);
  assert.equal(ids, ['office-printer']);
});

test('a profiles folder that cannot be read: the configuration is wrong, exit 78', async () => {
  const r = runHerald(agentArgs(join(dir, 'nowhere')));
  assert.is(await r.exit(), 78);
  assert.match(r.stderr.join('\n'), /nowhere: cannot read profiles folder: no such folder/);
});

test('bad options: one clear message and exit 64; a bad config file: exit 78', async () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp, number][] = [
    [['agent', '--heartbeat-ms', 'soon'], {}, /--heartbeat-ms: must be a whole number of milliseconds/, 64],
    [['agent', '--frobnicate'], {}, /agent: unknown option '--frobnicate'/, 64],
    [['agent'], { HERALD_MQTT_URL: 'broker.lan:1883' }, /did you mean mqtt:\/\/broker\.lan:1883\?/, 64],
    [['ls', '--json=maybe'], {}, /--json: must be true or false/, 64],
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
  const commands = [['agent'], ['ls'], ['get'], ['watch'], ['check'], ['demo'], ['keygen'], ['completion']];
  const registration = [['register'], ['withdraw'], ['renew'], ['health'], ['forget']];
  for (const cmd of [[], ...commands, ...registration]) {
    const r = runHerald([...cmd, '--help']);
    assert.is(await r.exit(), 0, cmd.join(' '));
    assert.match(r.stdout.join('\n'), /Usage: herald/);
  }
});

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

function noStackTrace(r: Running, what: string): void {
  const err = r.stderr.join('\n');
  assert.not.match(err, /^\s+at /m, `${what} printed a stack trace:\n${err}`);
}

async function config(args: string[], env: NodeJS.ProcessEnv = {}): Promise<AgentConfig> {
  const r = runHerald(['agent', '--print-config', ...args], { env });
  assert.is(await r.exit(), 0, `${args.join(' ')}: ${r.stderr.join('\n')}`);
  return JSON.parse(r.stdout.join('\n')) as AgentConfig;
}

test('agent flags: bare booleans, --no-X, --x=value in any YAML spelling, same precedence as before', async () => {
  const file = join(dir, 'herald.yaml');
  await writeFile(file, 'mdnsDevices: True\nmqtt-homeassistant: yes\nsite: from-file\n');
  assert.is((await config([])).mdnsDevices, false);
  assert.is((await config(['--mdns-devices'])).mdnsDevices, true);
  assert.is((await config(['--mdns-devices', '--site', 'a'])).site, 'a', 'a bare boolean takes no value');
  assert.is((await config(['--mdns-devices=TRUE'])).mdnsDevices, true);
  assert.is((await config(['--mdns-devices=off'])).mdnsDevices, false);
  assert.is((await config(['--mdns-devices', 'false'])).mdnsDevices, false, 'the older spelling still works');
  assert.is((await config(['--site=b', '--peer-port=0'])).peerPort, 0);
  const fromFile = await config(['--config', file]);
  assert.equal([fromFile.mdnsDevices, fromFile.mqttHomeassistant, fromFile.site], [true, true, 'from-file']);
  const env = { HERALD_MDNS_DEVICES: 'FALSE', HERALD_SITE: 'from-env' };
  const fromEnv = await config([`--config=${file}`], env);
  assert.equal([fromEnv.mdnsDevices, fromEnv.site], [false, 'from-env'], 'the environment beats the file');
  const fromFlag = await config([`--config=${file}`, '--no-mqtt-homeassistant', '--mdns-devices'], env);
  assert.equal([fromFlag.mdnsDevices, fromFlag.mqttHomeassistant], [true, false], 'flags beat both');
  const version = runHerald(['--version']);
  assert.is(await version.exit(), 0);
  assert.match(version.stdout[0], /^\d+\.\d+\.\d+/);
});

test('ls, get, watch: bare, = and --no- forms against an agent with a token; 401 and a missing agent in one line', async () => {
  const profiles = join(dir, 'profiles');
  await cp('device-profiles', profiles, { recursive: true });
  const token = join(dir, 'token');
  await writeFile(token, 'a-token-of-thirty-two-characters\n');
  const agent = runHerald([...agentArgs(profiles), '--api-token-file', token]);
  running.push(agent);
  const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  const api = started.api as string;
  const auth = [`--api=${api}`, `--token-file=${token}`];

  const forms: [string[], (out: string) => void][] = [
    [['ls', '--json', ...auth], (out) => assert.is(parse(out).count, 6)],
    [['ls', '--json=true', ...auth], (out) => assert.is(parse(out).count, 6)],
    [['ls', '--no-json', '--include-lost', ...auth], (out) => assert.match(out, /^DEVICE\s+NAME/)],
    [
      ['ls', '--include-lost=TRUE', '--json=no', '--api', api, '--token-file', token],
      (out) => assert.match(out, /^DEVICE/),
    ],
    [['ls', '--no-include-lost', '--capability=temperature', ...auth], (out) => assert.is(out.split('\n').length, 2)],
    [['get', 'cli-agent/gate-camera', ...auth], (out) => assert.is(parse(out).id, 'gate-camera')],
  ];
  for (const [args, check] of forms) {
    const r = runHerald(args);
    assert.is(await r.exit(), 0, `${args.join(' ')}: ${r.stderr.join('\n')}`);
    check(r.stdout.join('\n'));
  }

  const watchForms = [['--json'], ['--json=1'], ['--no-json'], ['--capability=temperature']];
  const watchers = watchForms.map((form) => runHerald(['watch', ...form, ...auth]));
  const filtered = watchers.pop()!;
  running.push(...watchers, filtered);
  // A watcher that connects late misses a change: drop a new lamp each second until every one saw one.
  const sawLamp = () => watchers.every((w) => w.stdout.some((l) => l.includes('lamp')));
  for (let n = 0; n < 10 && !sawLamp(); n++) {
    const lamp = `id: lamp-${n}\nname: Lamp\ncapabilities:\n  - id: on\n    kind: property\n`;
    await writeFile(join(profiles, `lamp-${n}.yaml`), lamp);
    await untilOrMs(sawLamp, 1000);
  }
  assert.ok(sawLamp(), 'every watcher shows a lamp');
  assert.is(parse(watchers[0].stdout.find((l) => l.includes('lamp'))!).event, 'device-added');
  assert.is(parse(watchers[1].stdout.find((l) => l.includes('lamp'))!).event, 'device-added');
  assert.match(
    watchers[2].stdout.find((l) => l.includes('lamp'))!,
    /device-added\s+cli-agent\/lamp-\d/,
  );
  for (let n = 0; n < 10 && !filtered.stdout.some((l) => l.includes('thermo')); n++) {
    const thermo = `id: thermo-${n}\nname: T\ncapabilities:\n  - id: t\n    kind: property\n    type: temperature\n`;
    await writeFile(join(profiles, `thermo-${n}.yaml`), thermo);
    await untilOrMs(() => filtered.stdout.some((l) => l.includes('thermo')), 1000);
  }
  assert.match(filtered.stdout.join('\n'), /device-added\s+cli-agent\/thermo-\d/);
  assert.not.match(filtered.stdout.join('\n'), /lamp/, 'watch --capability shows only matching devices');

  assert.is((await request(`http://${api}/livez`)).statusCode, 200, '/livez is open without the token');
  assert.is((await request(`http://${api}/v1/devices`)).statusCode, 401);
  const noToken = runHerald(['ls', `--api=${api}`], { env: { HERALD_API_TOKEN_FILE: '' } });
  assert.is(await noToken.exit(), 77);
  assert.match(noToken.stderr.join('\n'), /pass --token-file FILE/);
  noStackTrace(noToken, 'ls without a token');

  const port = await closedPort();
  const missing = [['ls'], ['ls', '--json'], ['get', 'a/b'], ['watch'], ['watch', '--no-json'], ['forget', 'gone']];
  const refused = missing.map((args) => ({ args, r: runHerald([...args, `--api=127.0.0.1:${port}`]) }));
  for (const { args, r } of refused) {
    assert.is(await r.exit(), 69, args.join(' '));
    assert.is(r.stderr.length, 1, `one line: ${r.stderr.join('\n')}`);
    assert.match(r.stderr[0], /no agent answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    noStackTrace(r, args.join(' '));
  }
});

test('ls and get against an agent that never answers, or a port out of range: a line a person can read', async () => {
  // A hung agent (stopped in a debugger, a full event loop): it takes the connection, answers nothing.
  const hung = createServer(() => {});
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  try {
    const api = `127.0.0.1:${(hung.address() as AddressInfo).port}`;
    // Both at once: each waits out its own 5 s, and nothing either asks depends on the other.
    const runs = [['ls'], ['get', 'a/b']].map((args) => ({ args, r: runHerald([...args, `--api=${api}`]) }));
    for (const { args, r } of runs) {
      assert.is(await r.exit(), 69, args.join(' '));
      assert.equal(r.stderr, [`herald: the agent at http://${api} did not answer within 5 s: is it stuck?`]);
    }
  } finally {
    hung.closeAllConnections();
    await new Promise((r) => hung.close(r));
  }
  const r = runHerald(['ls', '--api=127.0.0.1:99999']);
  assert.is(await r.exit(), 64);
  assert.equal(r.stderr, ["herald: --api: expected HOST:PORT with a port from 1 to 65535, got '127.0.0.1:99999'"]);
});

test('check, keygen, completion, demo: value forms; the demo takes a free port when 7755 is taken', async () => {
  const check = runHerald(['check', 'device-profiles']);
  assert.is(await check.exit(), 0);
  const keygen = runHerald(['keygen']);
  assert.is(await keygen.exit(), 0);
  assert.match(keygen.stdout[0], /^[0-9a-f]{64}$/);

  const script = join(dir, 'herald.bash');
  const completion = runHerald(['completion', 'bash']);
  assert.is(await completion.exit(), 0);
  await writeFile(script, completion.stdout.join('\n'));
  const complete = (words: string) =>
    execFileSync(
      'bash',
      [
        '-c',
        `source ${script}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _herald; echo "\${COMPREPLY[*]}"`,
      ],
      {
        encoding: 'utf8',
      },
    ).trim();
  assert.is(complete('herald wa'), 'watch');
  assert.is(complete('herald agent --mdns'), '--mdns-devices');
  assert.ok(complete('herald ls --').split(' ').includes('--no-include-lost'));
  assert.is(complete('herald completion b'), 'bash');
  const badShell = runHerald(['completion', 'tcsh']);
  assert.is(await badShell.exit(), 64);

  // 7755 held here (or by someone else already): the demo must still run, on another port.
  const holder = createServer();
  const held = await new Promise<boolean>((r) =>
    holder.once('error', () => r(false)).listen(7755, '127.0.0.1', () => r(true)),
  );
  const mine = createServer();
  await new Promise<void>((r) => mine.listen(0, '127.0.0.1', r));
  try {
    const demo = runHerald(['demo', '--agents=2', '--duration', '1', '--interval=200']);
    assert.is(await demo.exit(), 0, demo.stderr.join('\n'));
    const out = demo.stdout.join('\n');
    assert.match(out, /2 agents on loopback/);
    if (held) assert.match(out, /try: herald ls --api 127\.0\.0\.1:\d+/);
    const port = (mine.address() as AddressInfo).port;
    const taken = runHerald(['demo', '--agents=1', '--duration=1', `--api=127.0.0.1:${port}`]);
    assert.is(await taken.exit(), 69);
    noStackTrace(taken, 'demo on a taken port');
  } finally {
    holder.close();
    mine.close();
  }
});

test.run();
