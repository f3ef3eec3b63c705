import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentConfig } from '../src/config/options.js';
import { netnsMissing } from './helpers/netns.js';
import { CLI, runHerald, testGroupPort, unitNodeFlags } from './helpers/process.js';
import { hasCommand, missingRequirement, testIf } from './helpers/requirements.js';

const run = promisify(execFile);
const test = suite('installing and running as the unit does');
let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'herald-install-'));
});
test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

function agentArgs(profiles = 'device-profiles', api = '127.0.0.1:0'): string[] {
  const site = `inst${process.pid}`;
  return ['agent', '--name', 'inst', '--site', site, '--group', `239.255.70.70:${testGroupPort()}`, '--api', api]
    .concat(['--peer-port', '0', '--discovery', 'multicast', '--profiles', profiles, '--log-format', 'json'])
    .concat(['--interface', 'lo']);
}

const mdweMissing = missingRequirement([
  { what: 'python3', ok: () => hasCommand('python3') },
  {
    what: "Linux 6.3 or later (prctl PR_SET_MDWE, MemoryDenyWriteExecute's rule)",
    ok: () => spawnSync('python3', ['test/helpers/mdwe.py']).status === 0,
  },
]);

testIf(
  test,
  mdweMissing,
  "under MemoryDenyWriteExecute the agent serves with the unit's flags; plain node dies",
  async () => {
    const unit = await readFile('systemd/herald.service', 'utf8');
    const flags = unitNodeFlags(unit);
    assert.ok(flags.includes('--jitless'), flags.join(' '));
    const agent = runHerald(agentArgs(), { prefix: ['python3', 'test/helpers/mdwe.py'], nodeFlags: flags });
    cleanups.push(() => agent.stop('SIGKILL'));
    const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 10_000, 'started');
    const res = await request(`http://${String(started.api)}/v1/devices`);
    assert.is(res.statusCode, 200);
    assert.is(((await res.body.json()) as { count: number }).count, 6);
    await agent.stop('SIGTERM');
    assert.is(await agent.exit(), 0, 'a clean stop under the rule too');

    // Without --jitless V8 makes written memory executable for its compiled code: the kernel refuses.
    const plain = spawnSync('python3', ['test/helpers/mdwe.py', process.execPath, '-e', 'console.log(1)'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.ok(plain.status !== 0, `plain node exited ${String(plain.status)} ${String(plain.signal)}`);
    assert.not.match(plain.stdout, /^1$/m);
  },
);

const offlineMissing =
  netnsMissing() ??
  missingRequirement([
    { what: 'npm', ok: () => hasCommand('npm') },
    { what: 'tar', ok: () => hasCommand('tar') },
  ]);

testIf(test, offlineMissing, 'a release tarball installs and runs in a namespace with no route anywhere', async () => {
  const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
  await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { timeout: 120_000 });
  const tgz = join(dir, `herald-${version}.tgz`);
  const ns = `herald-off-${Math.floor(Math.random() * 0xffff).toString(16)}`;
  await run('ip', ['netns', 'add', ns]);
  cleanups.push(() => run('ip', ['netns', 'del', ns]));
  const inNs = (...args: string[]) => run('ip', ['netns', 'exec', ns, ...args], { timeout: 120_000 });
  await inNs('ip', 'link', 'set', 'lo', 'up');
  assert.is((await inNs('ip', 'route', 'show')).stdout.trim(), '', 'no route at all');

  await inNs('tar', 'xzf', tgz, '-C', dir);
  const root = join(dir, 'root');
  const installed = await inNs('bash', join(dir, 'package/scripts/install.sh'), '--destdir', root, '--no-systemctl');
  assert.match(installed.stdout, /installed .*herald\.service/);
  const main = join(root, 'opt/herald/dist/src/cli/main.js');
  assert.is((await inNs(process.execPath, main, '--version')).stdout.trim(), version);

  const unit = await readFile(join(root, 'etc/systemd/system/herald.service'), 'utf8');
  const port = 20_000 + Math.floor(Math.random() * 10_000);
  const profiles = join(root, 'opt/herald/examples/device-profiles');
  const argv = ['netns', 'exec', ns, process.execPath, ...unitNodeFlags(unit), main];
  const agent = spawn('ip', [...argv, ...agentArgs(profiles, `127.0.0.1:${port}`)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => agent.once('exit', r));
  cleanups.push(async () => {
    agent.kill('SIGKILL');
    await exited;
  });
  let out = '';
  agent.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 10_000;
  while (!out.includes('agent started')) {
    if (Date.now() > deadline) throw new Error(`the installed agent did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const devices = await inNs('curl', '-s', `http://127.0.0.1:${port}/v1/devices`);
  assert.is((JSON.parse(devices.stdout) as { count: number }).count, 6);
});

test('keygen writes a 0600 file (also through "> file"), never over a key; the unit credential is found', async () => {
  const printed = join(dir, 'printed.key');
  await run('sh', ['-c', `umask 022; "${process.execPath}" ${resolve(CLI)} keygen > ${printed}`]);
  assert.is((await stat(printed)).mode & 0o777, 0o600);
  const out = join(dir, 'out.key');
  const first = runHerald(['keygen', '--out', out]);
  assert.is(await first.exit(), 0);
  assert.match(first.stderr.join('\n'), /LoadCredential=/);
  assert.is((await stat(out)).mode & 0o777, 0o600);
  const again = runHerald(['keygen', `--out=${out}`]);
  assert.is(await again.exit(), 78);
  assert.match(again.stderr.join('\n'), /EEXIST/);

  const credentials = join(dir, 'credentials');
  await run('mkdir', [credentials]);
  const config = async () => {
    const r = runHerald(['agent', '--print-config'], { env: { CREDENTIALS_DIRECTORY: credentials } });
    assert.is(await r.exit(), 0);
    return JSON.parse(r.stdout.join('\n')) as AgentConfig;
  };
  await writeFile(join(credentials, 'cluster.key'), '# no cluster key installed');
  assert.is((await config()).keyFile, undefined, "the unit's fallback: an open cluster");
  await writeFile(join(credentials, 'cluster.key'), await readFile(out));
  assert.is((await config()).keyFile, join(credentials, 'cluster.key'));
});

/** A copy of what install.sh needs from a release (no lock file: nothing is fetched), in `into`. */
async function fakeRelease(into: string): Promise<void> {
  for (const d of ['scripts', 'dist/src/cli', 'docs', 'device-profiles', 'systemd', 'node_modules'])
    await mkdir(join(into, d), { recursive: true });
  for (const f of ['scripts/install.sh', 'scripts/uninstall.sh', 'package.json', 'README.md'])
    await writeFile(join(into, f), await readFile(f));
  for (const f of ['systemd/herald.service', 'systemd/herald.yaml', 'device-profiles/schema.json'])
    await writeFile(join(into, f), await readFile(f));
  await writeFile(join(into, 'dist/src/cli/main.js'), '');
}

test('install.sh and uninstall.sh never wipe a --prefix folder that is not a Herald install', async () => {
  const release = join(dir, 'release');
  const dest = join(dir, 'root');
  await fakeRelease(release);
  // People used to ./configure write --prefix /usr/local: it holds other software, which must survive.
  const precious = join(dest, 'usr/local/bin/other-tool');
  await mkdir(join(dest, 'usr/local/bin'), { recursive: true });
  await writeFile(precious, 'not herald');
  const sh = (script: string, ...args: string[]) =>
    spawnSync('bash', [join(release, 'scripts', script), '--destdir', dest, '--no-systemctl', ...args], {
      encoding: 'utf8',
    });
  const install = sh('install.sh', '--prefix', '/usr/local');
  assert.is(await readFile(precious, 'utf8'), 'not herald', 'install.sh removed what was in --prefix');
  assert.is.not(install.status, 0, install.stdout);
  assert.match(install.stderr, /not a Herald install/);
  const uninstall = sh('uninstall.sh', '--prefix', '/usr/local');
  assert.is(await readFile(precious, 'utf8'), 'not herald', 'uninstall.sh removed what was in --prefix');
  assert.is.not(uninstall.status, 0, uninstall.stdout);

  // Its own folder is still replaced on an upgrade and removed on uninstall.
  const own = sh('install.sh', '--prefix', '/opt/herald');
  assert.is(own.status, 0, own.stderr);
  const upgrade = sh('install.sh', '--prefix', '/opt/herald');
  assert.is(upgrade.status, 0, upgrade.stderr);
  assert.ok(existsSync(join(dest, 'opt/herald/dist/src/cli/main.js')));
  const removed = sh('uninstall.sh', '--prefix', '/opt/herald');
  assert.is(removed.status, 0, removed.stderr);
  assert.not.ok(existsSync(join(dest, 'opt/herald')));
});

test.run();
