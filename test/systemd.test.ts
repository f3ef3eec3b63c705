import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { request } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createNotifier } from '../src/systemd/notify.js';
import { stdoutIsJournal } from '../src/util/journald.js';
import mqttPkg from 'mqtt';
import { Mosquitto, mosquittoMissing } from './helpers/mosquitto.js';
import { CLI, runHerald, testGroupPort, unitNodeFlags } from './helpers/process.js';
import { hasCommand, missingRequirement, testIf } from './helpers/requirements.js';

const run = promisify(execFile);
const test = suite('running as a systemd service');
let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'herald-systemd-'));
});
test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

function agentArgs(extra: string[] = []): string[] {
  return [
    'agent',
    '--name',
    'svc',
    '--site',
    `svc${process.pid}`,
    '--group',
    `239.255.70.70:${testGroupPort()}`,
    '--api',
    '127.0.0.1:0',
    '--peer-port',
    '0',
    '--discovery',
    'multicast',
    '--profiles',
    'device-profiles',
    '--log-format',
    'json',
    ...extra,
  ];
}

const analyzeMissing = missingRequirement([
  { what: 'systemd-analyze (Debian package systemd)', ok: () => hasCommand('systemd-analyze') },
]);

testIf(test, analyzeMissing, 'the unit verifies clean and its exposure is 1.3 or less', async () => {
  const verify = await run('systemd-analyze', ['verify', 'systemd/herald.service']).catch(
    (e: unknown) => e as { stdout: string; stderr: string },
  );
  assert.is(`${verify.stdout}${verify.stderr}`.trim(), '', 'systemd-analyze verify prints nothing');
  const { stdout } = await run('systemd-analyze', ['security', '--offline=true', 'systemd/herald.service']);
  const m = /Overall exposure level for herald\.service: ([\d.]+)/.exec(stdout);
  assert.ok(m && Number(m[1]) <= 1.3, `exposure ${m?.[1]}`);
  const unit = await readFile('systemd/herald.service', 'utf8');
  for (const line of [
    'Type=notify',
    'DynamicUser=yes',
    'StateDirectory=herald',
    'ConfigurationDirectory=herald',
    'RuntimeDirectory=herald',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'RestartPreventExitStatus=64 78',
    'LoadCredential=cluster.key:/etc/herald/cluster.key',
    'MemoryDenyWriteExecute=yes',
  ]) {
    assert.ok(unit.includes(line), line);
  }
  assert.match(unit, /RestrictAddressFamilies=.*AF_NETLINK/);
  assert.match(unit, /^ExecStart=\S+ .*--jitless/m, 'MemoryDenyWriteExecute=yes holds only with --jitless');
});

const pythonMissing = missingRequirement([
  { what: 'python3 (stands in for the notify socket)', ok: () => hasCommand('python3') },
]);

/** A real unix datagram socket standing in for systemd; messages arrive as lines. */
async function notifySocket(): Promise<{ path: string; messages: string[] }> {
  const path = join(dir, 'notify.sock');
  const proc = spawn('python3', ['test/helpers/notify_socket.py', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => Promise.resolve(proc.kill()));
  const messages: string[] = [];
  let rest = '';
  let listening = false;
  const isListening = () => listening; // set by the data handler between awaits
  proc.stdout.on('data', (c: Buffer) => {
    rest += c.toString();
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const l of lines)
      if (l === 'listening') listening = true;
      else messages.push(l);
  });
  const deadline = Date.now() + 5000;
  while (!isListening()) {
    if (Date.now() > deadline) throw new Error('notify socket did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { path, messages };
}

testIf(
  test,
  pythonMissing,
  'sd_notify: READY once serving, STATUS, WATCHDOG from the event loop, RELOADING on SIGHUP, STOPPING',
  async () => {
    const sock = await notifySocket();
    const agent = runHerald(agentArgs(), { env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '400000' } });
    cleanups.push(() => agent.stop('SIGKILL'));
    await agent.waitFor(() => sock.messages.some((m) => m.includes('READY=1')), 8000, 'READY=1');
    const started = agent.logs().find((l) => l.msg === 'agent started')!;
    const res = await request(`http://${String(started.api)}/readyz`);
    assert.is(res.statusCode, 200, 'ready means the API already answers');
    await res.body.dump();
    const ready = sock.messages.find((m) => m.includes('READY=1'))!;
    assert.match(ready, /STATUS=1 agents alive, 6 devices/);
    assert.match(ready, new RegExp(`MAINPID=${agent.proc.pid}`));
    await agent.waitFor(
      () => sock.messages.filter((m) => m === 'WATCHDOG=1').length >= 3,
      3000,
      'watchdog pings every 200 ms',
    );
    agent.proc.kill('SIGHUP');
    await agent.waitFor(() => sock.messages.some((m) => m.startsWith('RELOADING=1')), 3000, 'RELOADING=1');
    await agent.waitFor(
      () => sock.messages.filter((m) => m.includes('READY=1')).length >= 2,
      3000,
      'READY=1 after the reload',
    );
    await agent.stop('SIGTERM');
    assert.is(await agent.exit(), 0);
    assert.ok(sock.messages.some((m) => m.startsWith('STOPPING=1')));
  },
);

testIf(
  test,
  pythonMissing,
  'sd_notify: a start that fails exits at once with its code and no READY (the early helper holds nothing open)',
  async () => {
    const sock = await notifySocket();
    const exitOf = async (args: string[]) => {
      const t0 = Date.now();
      const proc = spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, NOTIFY_SOCKET: sock.path },
        stdio: 'ignore',
      });
      cleanups.push(() => Promise.resolve(proc.kill('SIGKILL')));
      // A held helper would keep it forever: given up after 10 s, as a failure rather than a hung suite.
      const code = await new Promise<number | null | 'running'>((r) => {
        proc.once('exit', r);
        setTimeout(() => r('running'), 10_000).unref();
      });
      return { code, ms: Date.now() - t0 };
    };
    const noFolder = await exitOf(agentArgs().map((a) => (a === 'device-profiles' ? join(dir, 'nowhere') : a)));
    assert.is(noFolder.code, 78);
    const noConfig = await exitOf(['agent', '--config', join(dir, 'missing.yaml')]);
    assert.is(noConfig.code, 78);
    assert.not.ok(
      sock.messages.some((m) => m.includes('READY=1')),
      sock.messages.join('\n'),
    );
  },
);

test('without NOTIFY_SOCKET nothing is sent and no helper is started', () => {
  assert.is(createNotifier({ PATH: process.env.PATH }), undefined);
});

test('SIGHUP with a bad config keeps the one in use; an option that needs a restart says so', async () => {
  const config = join(dir, 'herald.yaml');
  await writeFile(config, 'logLevel: info\nheartbeatMs: 1000\n');
  const agent = runHerald(agentArgs(['--config', config]));
  cleanups.push(() => agent.stop('SIGKILL'));
  const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  await writeFile(config, 'logLevel: loud\n');
  agent.proc.kill('SIGHUP');
  const refused = await agent.waitFor(
    () => agent.logs().find((l) => l.msg === 'reload refused; keeping the configuration, key and profiles in use'),
    3000,
    'refused',
  );
  assert.match(String(refused.err), /logLevel: must be one of/);
  const res = await request(`http://${String(started.api)}/v1/devices`);
  assert.is(res.statusCode, 200, 'still serving');
  await res.body.dump();

  await writeFile(config, 'logLevel: debug\nheartbeatMs: 500\n');
  agent.proc.kill('SIGHUP');
  const warned = await agent.waitFor(
    () => agent.logs().find((l) => l.msg === 'these options changed but take effect only after a restart'),
    3000,
    'restart warning',
  );
  assert.equal(warned.options, ['heartbeat-ms']);
  await agent.waitFor(
    () => agent.logs().find((l) => l.msg === 'log level changed' && l.logLevel === 'debug'),
    3000,
    'log level applied at once',
  );
});

test('SIGHUP with a key file that cannot be read is refused whole: the keys, config and profiles in use stay', async () => {
  const key = join(dir, 'cluster.key');
  const gen = runHerald(['keygen']);
  await gen.exit();
  await writeFile(key, gen.stdout[0] + '\n', { mode: 0o600 });
  const config = join(dir, 'herald.yaml');
  await writeFile(config, 'logLevel: info\n');
  const agent = runHerald(agentArgs(['--key-file', key, '--config', config]));
  cleanups.push(() => agent.stop('SIGKILL'));
  const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  await rm(key);
  await writeFile(config, 'logLevel: debug\n');
  agent.proc.kill('SIGHUP');
  const refused = await agent.waitFor(
    () => agent.logs().find((l) => l.msg === 'reload refused; keeping the configuration, key and profiles in use'),
    3000,
    'refused',
  );
  assert.match(String(refused.err), /cannot read key file .*cluster\.key: ENOENT/);
  assert.is(refused.level, 50, 'an error, not a warning');
  assert.not.ok(
    agent.logs().some((l) => l.msg === 'log level changed'),
    'the new config was not applied either',
  );
  const res = await request(`http://${String(started.api)}/readyz`);
  assert.is(res.statusCode, 200, 'still serving');
  await res.body.dump();
});

test('under journald (JOURNAL_STREAM names stdout) every log line carries its syslog priority', async () => {
  const file = join(dir, 'journal.log');
  const handle = await open(file, 'w');
  const st = await handle.stat({ bigint: true });
  const proc = spawn(process.execPath, [CLI, ...agentArgs()], {
    env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
    stdio: ['ignore', handle.fd, 'inherit'],
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', r));
  cleanups.push(async () => {
    proc.kill('SIGKILL');
    await handle.close();
  });
  const deadline = Date.now() + 8000;
  while (!(await readFile(file, 'utf8')).includes('agent started')) {
    if (Date.now() > deadline) throw new Error('the agent did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGTERM');
  assert.is(await exited, 0);
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  assert.match(lines.find((l) => l.includes('no cluster key')) ?? '', /^<4>\{"level":40,/, 'a warning is priority 4');
  assert.match(lines.find((l) => l.includes('agent started')) ?? '', /^<6>\{"level":30,/, 'info is priority 6');
  for (const l of lines) assert.match(l, /^<[2-7]>\{"level":/);
  const other = await open(join(dir, 'not-the-journal'), 'w');
  cleanups.push(() => other.close());
  const env = { JOURNAL_STREAM: `${st.dev}:${st.ino}` };
  assert.ok(stdoutIsJournal(env, handle.fd));
  assert.not.ok(stdoutIsJournal(env, other.fd), 'another stream is not the journal, whatever the variable says');
});

test('under journald a start that fails (exit 78) says why at priority 3, not as info', async () => {
  // As systemd runs the unit: stdout and stderr are one stream to journald, named by JOURNAL_STREAM.
  const failing = async (args: string[]) => {
    const file = join(dir, `journal-${Math.random().toString(16).slice(2)}.log`);
    const handle = await open(file, 'w');
    cleanups.push(() => handle.close());
    const st = await handle.stat({ bigint: true });
    const proc = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
      stdio: ['ignore', handle.fd, handle.fd],
    });
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    return { code, lines: (await readFile(file, 'utf8')).split('\n').filter(Boolean) };
  };
  const noFolder = await failing(agentArgs().map((a) => (a === 'device-profiles' ? join(dir, 'nowhere') : a)));
  assert.is(noFolder.code, 78);
  const why = noFolder.lines.filter((l) => !l.includes('"level"'));
  assert.ok(why.length >= 2, noFolder.lines.join('\n'));
  for (const l of why) assert.match(l, /^<3>/, `journalctl -p err shows it: ${l}`);
  const noConfig = await failing(['agent', '--config', join(dir, 'missing.yaml')]);
  assert.is(noConfig.code, 78);
  assert.equal(noConfig.lines, [`<3>herald: cannot read config file ${join(dir, 'missing.yaml')}: ENOENT`]);
  const badFlag = await failing(['agent', '--heartbeat-msec=5']);
  assert.is(badFlag.code, 64);
  for (const l of badFlag.lines) assert.match(l, /^<3>/, l);
});

test('/metrics parses as Prometheus text, with herald_ names, _total counters and no device ids in labels', async () => {
  const agent = runHerald(agentArgs());
  cleanups.push(() => agent.stop('SIGKILL'));
  const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  await request(`http://${String(started.api)}/v1/devices?kind=nope`).then((r) => r.body.dump());
  const text = await (await request(`http://${String(started.api)}/metrics`)).body.text();
  const families = parsePrometheusTextFormat(text) as {
    name: string;
    type: string;
    metrics: { labels?: Record<string, string> }[];
  }[];
  assert.ok(families.length >= 15, `${families.length} metric families`);
  const ids = [
    'greenhouse-climate',
    'gate-camera',
    'irrigation-relays',
    'main-energy-meter',
    'zigbee-coordinator',
    'office-printer',
  ];
  for (const f of families) {
    assert.match(f.name, /^(herald|process|nodejs)_/, "Herald's own, or prom-client's process figures");
    if (f.type === 'COUNTER') assert.match(f.name, /_total$/, f.name);
    if (f.type === 'HISTOGRAM') assert.match(f.name, /_seconds$/, f.name);
    for (const m of f.metrics)
      for (const v of Object.values(m.labels ?? {}))
        assert.not.ok(ids.includes(v), `${f.name} has a device id in a label`);
  }
  const names = families.map((f) => f.name);
  for (const n of [
    'herald_announcements_sent_total',
    'herald_announcements_received_total',
    'herald_announcements_ignored_total',
    'herald_gaps_detected_total',
    'herald_catchup_requests_total',
    'herald_catchup_duration_seconds',
    'herald_snapshot_fallbacks_total',
    'herald_decode_errors_total',
    'herald_agents',
    'herald_devices',
    'herald_build_info',
    'herald_profiles_refused',
    'herald_name_conflicts',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_gc_duration_seconds',
  ]) {
    assert.ok(names.includes(n), n);
  }
  const api = families.find((f) => f.name === 'herald_api_requests_total')!;
  assert.ok(api.metrics.some((m) => m.labels?.status === '400'));
  assert.is(families.find((f) => f.name === 'process_cpu_seconds_total')?.type, 'COUNTER');
  assert.match(text, /^herald_build_info\{version="\d+\.\d+\.\d+[^"]*",node="v\d+[^"]*"\} 1$/m);

  // --no-node-metrics: prom-client's default set is left out, the standard process_ figures stay.
  const full = runHerald(agentArgs(['--no-node-metrics']));
  cleanups.push(() => full.stop('SIGKILL'));
  const fullStarted = await full.waitFor(() => full.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  const fullText = await (await request(`http://${String(fullStarted.api)}/metrics`)).body.text();
  const fullNames = [...fullText.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
  assert.not.ok(fullNames.includes('nodejs_eventloop_lag_seconds'), fullNames.join());
  assert.ok(fullNames.includes('process_cpu_seconds_total') && fullNames.includes('herald_build_info'));
  const declared = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
  assert.is(new Set(declared).size, declared.length, 'no family twice, with prom-client beside our own');
});

test('shutdown within 2 s: goodbye sent, nothing left listening', async () => {
  const agent = runHerald(agentArgs());
  const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'started');
  const apiPort = Number(String(started.api).split(':')[1]);
  const peerPort = Number(started.peerPort);
  const t0 = Date.now();
  await agent.stop('SIGTERM');
  const took = Date.now() - t0;
  assert.is(await agent.exit(), 0);
  assert.ok(took < 2000, `stopped in ${took} ms`);
  for (const port of [apiPort, peerPort]) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve(false);
      });
      s.on('error', () => resolve(true));
    });
    assert.ok(refused, `port ${port} no longer listening`);
  }
  assert.ok(agent.logs().some((l) => l.msg === 'agent stopped'));
});

test('install.sh puts the agent, the unit and the config in place; uninstall.sh removes them', async () => {
  const root = join(dir, 'root');
  const { stdout } = await run('bash', ['scripts/install.sh', '--destdir', root, '--no-systemctl'], {
    timeout: 120_000,
  });
  assert.match(stdout, /installed .*herald\.service/);
  for (const f of [
    'opt/herald/dist/src/cli/main.js',
    'opt/herald/node_modules/undici/package.json',
    'etc/systemd/system/herald.service',
    'etc/herald/herald.yaml',
    'etc/herald/device-profiles/schema.json',
    'opt/herald/examples/device-profiles/greenhouse-climate.yaml',
  ]) {
    assert.ok(existsSync(join(root, f)), f);
  }
  assert.not.ok(existsSync(join(root, 'opt/herald/node_modules/typescript')), 'no dev dependencies');
  const unit = await readFile(join(root, 'etc/systemd/system/herald.service'), 'utf8');
  assert.match(
    unit,
    new RegExp(
      `ExecStart=${process.execPath} (--\\S+ )*/opt/herald/dist/src/cli/main.js agent --config /etc/herald/herald.yaml`,
    ),
  );
  const check = await run(process.execPath, [
    join(root, 'opt/herald/dist/src/cli/main.js'),
    'check',
    join(root, 'opt/herald/examples/device-profiles'),
  ]);
  assert.match(check.stdout, /all valid/);
  // The installed example config is a valid configuration.
  const help = await run(process.execPath, [join(root, 'opt/herald/dist/src/cli/main.js'), 'agent', '--help']);
  assert.match(help.stdout, /--mqtt-url/);
  await run('bash', ['scripts/uninstall.sh', '--destdir', root, '--no-systemctl']);
  assert.not.ok(existsSync(join(root, 'opt/herald')));
  assert.not.ok(existsSync(join(root, 'etc/systemd/system/herald.service')));
  assert.ok(existsSync(join(root, 'etc/herald/herald.yaml')), 'config kept without --purge');
});

test('the shipped example config resolves to a valid configuration', async () => {
  const { resolveConfig } = await import('../src/config/resolve.js');
  const c = await resolveConfig({ flags: {}, env: {}, configFile: 'systemd/herald.yaml' });
  assert.is(c.profiles, '/etc/herald/device-profiles');
  assert.is(c.discovery, 'both');
});

const deployedMissing = mosquittoMissing();

testIf(
  test,
  deployedMissing,
  "with the unit's Node flags (no JIT, so no WebAssembly): multicast, mDNS, HTTP catch-up and the MQTT bridge all work",
  async () => {
    const flags = unitNodeFlags(await readFile('systemd/herald.service', 'utf8'));
    assert.ok(flags.includes('--jitless'), `the unit runs Node without its JIT: ${flags.join(' ')}`);
    const broker = new Mosquitto();
    await broker.start();
    cleanups.push(() => broker.destroy());
    const site = `jitless${process.pid}`;
    const group = `239.255.70.70:${testGroupPort()}`;
    const start = async (name: string, extra: string[] = []) => {
      const profiles = join(dir, name);
      await mkdir(profiles);
      await writeFile(
        join(profiles, 'probe.yaml'),
        `id: probe\nname: ${name} probe\ncapabilities:\n  - id: t\n    kind: property\n    type: temperature\n`,
      );
      const agent = runHerald(
        [
          'agent',
          '--name',
          name,
          '--site',
          site,
          '--group',
          group,
          '--interface',
          'lo',
          '--api',
          '127.0.0.1:0',
          '--peer-port',
          '0',
          '--discovery',
          'both',
          '--profiles',
          profiles,
          '--heartbeat-ms',
          '300',
          '--log-format',
          'json',
          ...extra,
        ],
        { nodeFlags: flags },
      );
      cleanups.push(() => agent.stop('SIGKILL'));
      const started = await agent.waitFor(
        () => agent.logs().find((l) => l.msg === 'agent started'),
        8000,
        `${name} started`,
      );
      return { agent, api: String(started.api) };
    };
    const devices = async (api: string) =>
      ((await (await request(`http://${api}/v1/devices`)).body.json()) as { devices: { agent: string }[] }).devices
        .map((d) => d.agent)
        .sort();
    const a = await start('a', ['--mqtt-url', broker.url]);
    const b = await start('b');
    await b.agent.waitFor(async () => (await devices(b.api)).join() === 'a,b', 8000, 'a and b see each other');
    // A newcomer holds nothing: it learns both sets over HTTP from the agents themselves.
    const c = await start('c');
    const deadline = Date.now() + 8000;
    while ((await devices(c.api)).join() !== 'a,b,c') {
      assert.ok(Date.now() < deadline, 'the newcomer caught up');
      await new Promise((r) => setTimeout(r, 50));
    }
    const metrics = await (await request(`http://${c.api}/metrics`)).body.text();
    const fetched = [
      ...metrics.matchAll(/^herald_catchup_requests_total\{result="(deltas|snapshot)"\} (\d+)$/gm),
    ].reduce((n, m) => n + Number(m[2]), 0);
    assert.ok(fetched >= 2, `catch-up over HTTP answered (${fetched})`);
    // mDNS adverts arrive on their own schedule (a browse query 20-120 ms after start, answers after it),
    // possibly after the datagrams did all the work: wait for them rather than read the first figure.
    const mdnsSeen = async () =>
      [
        ...(await (await request(`http://${c.api}/metrics`)).body.text()).matchAll(
          /^herald_announcements_received_total\{type="mdns[^"]*"\} (\d+)$/gm,
        ),
      ].reduce((n, m) => n + Number(m[1]), 0);
    const mdnsBy = Date.now() + 5000;
    while ((await mdnsSeen()) === 0) {
      assert.ok(Date.now() < mdnsBy, 'mDNS advertisements were heard');
      await new Promise((r) => setTimeout(r, 50));
    }
    await a.agent.waitFor(
      () => a.agent.logs().some((l) => l.msg === 'MQTT state in step with the directory'),
      5000,
      'the bridge in step with the broker',
    );
    const mqtt = await mqttPkg.connectAsync(broker.url);
    const topics = new Set<string>();
    mqtt.on('message', (t, p, pkt) => pkt.retain && p.length > 0 && topics.add(t));
    await mqtt.subscribeAsync(`herald/${site}/devices/#`);
    const until = Date.now() + 5000;
    while (!topics.has(`herald/${site}/devices/a/probe`) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    await mqtt.endAsync();
    assert.ok(
      topics.has(`herald/${site}/devices/a/probe`),
      `the broker holds a's device retained: ${[...topics].join(' ')}`,
    );
    for (const x of [a, b, c]) {
      await x.agent.stop('SIGTERM');
      assert.is(await x.agent.exit(), 0);
    }
  },
);

test.run();
