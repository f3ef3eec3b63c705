import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsMissing, Testbed, type Host } from './helpers/netns.js';
import { runHerald, type Running } from './helpers/process.js';
import { hasCommand, missingRequirement, testIf } from './helpers/requirements.js';

/**
 * Issue 13: Herald beside other responders, all of them independent implementations, in namespaces:
 * avahi-daemon owns the host name h1.local; python-zeroconf on h2 resolves, registers and listens for
 * every TTL-0 record on the link.
 */
const test = suite('mDNS citizenship (avahi, python-zeroconf, network namespaces)');
const missing =
  netnsMissing() ??
  missingRequirement([
    { what: 'avahi-daemon (Debian package)', ok: () => hasCommand('avahi-daemon') },
    {
      what: 'python3-zeroconf (Debian package, /usr/bin/python3)',
      ok: () => {
        execFileSync('/usr/bin/python3', ['-c', 'import zeroconf'], { stdio: 'ignore' });
        return true;
      },
    },
  ]);
const cleanups: (() => Promise<void>)[] = [];
test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

type Line = Record<string, unknown>;

/** python-zeroconf on a host: commands in, JSON lines out. */
function mdnsPeer(bed: Testbed, host: Host) {
  const proc = spawn(
    bed.prefix(host)[0],
    [...bed.prefix(host).slice(1), '/usr/bin/python3', resolve('test/helpers/mdns_peer.py'), host.address],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: Line[] = [];
  let rest = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) lines.push(JSON.parse(l) as Line);
  });
  cleanups.push(() => Promise.resolve(void proc.kill('SIGKILL')));
  const next = async (pick: (l: Line) => boolean, ms = 8000): Promise<Line> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = lines.find(pick);
      if (found) {
        lines.splice(lines.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`mdns_peer: no answer in ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const ask = async (cmd: string[], pick: (l: Line) => boolean) => {
    proc.stdin.write(cmd.join('\t') + '\n');
    return next(pick);
  };
  return {
    ready: () => next((l) => l.ready === true),
    resolve: async (name: string) => (await ask(['resolve', name], (l) => l.resolved === name)).addresses as string[],
    service: (type: string, instance: string) => ask(['service', type, instance], (l) => l.service === instance),
    register: (type: string, instance: string, port: number) =>
      ask(['register', type, instance, String(port)], (l) => l.registered === instance),
    goodbyes: () =>
      lines.filter((l) => typeof l.goodbye === 'string').map((l) => `${l.goodbye as string} ${l.type as number}`),
  };
}

/** avahi-daemon owning `<host>.local`, up once it says its start-up is complete (its probing done). */
async function startAvahi(bed: Testbed, host: Host, dir: string): Promise<ChildProcess> {
  const conf = join(dir, 'avahi.conf');
  await writeFile(
    conf,
    `[server]\nhost-name=${host.name}\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=${host.veth}\nenable-dbus=no\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-workstation=no\n`,
  );
  const script = `mkdir -p /run/avahi-daemon; mount -t tmpfs tmpfs /run/avahi-daemon; exec avahi-daemon -f ${conf} --no-drop-root --no-chroot --no-rlimits`;
  const proc = spawn(bed.prefix(host)[0], [...bed.prefix(host).slice(1), 'unshare', '-m', 'sh', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => Promise.resolve(void proc.kill('SIGTERM')));
  let said = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`avahi-daemon did not start:\n${said}`)), 10_000);
    const hear = (chunk: Buffer) => {
      said += chunk.toString();
      if (/Server startup complete/.test(said)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on('data', hear);
    proc.stderr.on('data', hear);
  });
  return proc;
}

function herald(bed: Testbed, host: Host, dir: string, name: string, site: string): Running {
  const run = runHerald(
    [
      'agent',
      ...['--name', name, '--site', site, '--discovery', 'mdns', '--interface', host.veth],
      ...['--api', '127.0.0.1:0', '--peer-port', '0', '--log-format', 'json', '--profiles', join(dir, 'none')],
      ...['--state-dir', join(dir, `state-${name}`)],
    ],
    // Its own UTS namespace named like the host, so that os.hostname() is what avahi publishes: h1.
    { prefix: [...bed.prefix(host), 'unshare', '-u', 'sh', '-c', `hostname ${host.name} && exec "$@"`, 'sh'] },
  );
  cleanups.push(async () => {
    await run.stop('SIGKILL');
  });
  return run;
}

async function up(run: Running): Promise<Line> {
  return run.waitFor(() => run.logs().find((l) => l.msg === 'agent started'), 10_000, 'agent started');
}

async function setup(hosts: number) {
  const bed = new Testbed();
  cleanups.push(() => bed.destroy());
  const dir = await mkdtemp(join(tmpdir(), 'herald-citizen-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'none'));
  await bed.create(hosts);
  return { bed, dir, site: `c${process.pid}${bed.id}` };
}

testIf(test, missing, 'avahi keeps h1.local while two agents start and stop on h1, in any order', async () => {
  const { bed, dir, site } = await setup(2);
  const [h1, h2] = bed.hosts as [Host, Host];
  await startAvahi(bed, h1, dir);
  const zc = mdnsPeer(bed, h2);
  await zc.ready();
  const resolves = async (step: string) =>
    assert.equal(await zc.resolve('h1.local'), ['10.77.0.1'], `h1.local resolves after: ${step}`);
  await resolves('avahi started');

  for (const round of [1, 2]) {
    const a = herald(bed, h1, dir, 'a1', site);
    await up(a);
    await resolves(`a1 started (round ${round})`);
    const b = herald(bed, h1, dir, 'b1', site);
    await up(b);
    await new Promise((r) => setTimeout(r, 1500)); // both probed and announced
    // Stop them in a different order each round: neither withdraws the other.
    const [first, second] = round === 1 ? [a, b] : [b, a];
    const other = round === 1 ? 'b1' : 'a1';
    await first.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    const info = await zc.service('_herald._tcp.local.', `${other}@${site}._herald._tcp.local.`);
    assert.is(info.server, `${other}-herald.local.`, `${other} is still resolvable after the other stopped`);
    assert.equal(info.addresses, ['10.77.0.1']);
    await resolves(`one agent stopped (round ${round})`);
    await second.stop('SIGTERM');
    await resolves(`both stopped (round ${round})`);
  }
  const goodbyes = zc.goodbyes();
  assert.not.ok(
    goodbyes.some((g) => g.startsWith('h1.local')),
    `no TTL-0 record for h1.local: ${goodbyes.join(', ')}`,
  );
  assert.ok(
    goodbyes.some((g) => g.startsWith('a1-herald.local')),
    'Herald withdrew its own host label',
  );
});

testIf(test, missing, 'a name taken by another responder: Herald renames and both stay resolvable', async () => {
  const { bed, dir, site } = await setup(2);
  const [h1, h2] = bed.hosts as [Host, Host];
  const zc = mdnsPeer(bed, h2);
  await zc.ready();
  const wanted = `c1@${site}._herald._tcp.local.`;
  await zc.register('_herald._tcp.local.', wanted, 4242);
  const run = herald(bed, h1, dir, 'c1', site);
  const started = await up(run);
  const renamed = await run.waitFor(() => run.logs().find((l) => typeof l.to === 'string'), 10_000, 'rename logged');
  assert.is(renamed.to, `c1@${site} (2)`);
  const theirs = await zc.service('_herald._tcp.local.', wanted);
  assert.is(theirs.port, 4242, "the other responder's instance is untouched");
  const ours = await zc.service('_herald._tcp.local.', `c1@${site} (2)._herald._tcp.local.`);
  assert.is(ours.port, started.peerPort, "Herald's instance under its new name");
  const api = `http://${started.api as string}`;
  const { stdout } = await bed.exec(h1, 'curl', '-sS', `${api}/v1/agents`);
  const self = (JSON.parse(stdout) as { agents: { name: string; mdns?: { instance: string } }[] }).agents.find(
    (x) => x.name === 'c1',
  );
  assert.is(self?.mdns?.instance, `c1@${site} (2)`, 'shown in /v1/agents');
  const metrics = (await bed.exec(h1, 'curl', '-sS', `${api}/metrics`)).stdout;
  assert.match(metrics, /herald_mdns_conflicts_total\{kind="service"\} 1/);
  assert.is(run.logs().filter((l) => typeof l.to === 'string').length, 1, 'logged once');
});

test.run();
