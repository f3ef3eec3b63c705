import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald, testGroupPort, type Running } from './helpers/process.js';

/** Several agent processes on one host, over real UDP multicast on lo and real HTTP catch-up. */
const HEARTBEAT_MS = 300;
let root: string;
let group: string;
let site: string;
const agents = new Map<string, { proc: Running; api: string; profiles: string }>();

test.before.each(async () => {
  root = await mkdtemp(join(tmpdir(), 'herald-loopback-'));
  group = `239.255.70.70:${testGroupPort()}`;
  site = `lo-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
});
test.after.each(async () => {
  for (const a of agents.values()) await a.proc.stop('SIGKILL');
  agents.clear();
  await rm(root, { recursive: true, force: true });
});

async function writeDevice(profiles: string, id: string, extra = ''): Promise<void> {
  await writeFile(
    join(profiles, `${id}.yaml`),
    `id: ${id}\nname: Device ${id}\n${extra}capabilities:\n  - id: value\n    kind: property\n    type: temperature\n`,
  );
}

async function start(name: string, ids: string[]): Promise<void> {
  const profiles = join(root, name, 'profiles');
  await mkdir(profiles, { recursive: true });
  for (const id of ids) await writeDevice(profiles, id);
  const proc = runHerald([
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
    '--profiles',
    profiles,
    '--state-dir',
    join(root, name, 'state'),
    '--heartbeat-ms',
    String(HEARTBEAT_MS),
    '--log-format',
    'json',
  ]);
  const started = await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 8000, `${name} started`);
  agents.set(name, { proc, api: String(started.api), profiles });
}

/** The part of /v1/devices and /v1/agents answers these tests read. */
interface Listing {
  devices: { agent: string; id: string }[];
  agents: { name: string; state: string }[];
}

async function get(name: string, path: string): Promise<Listing> {
  const res = await request(`http://${agents.get(name)!.api}${path}`);
  return (await res.body.json()) as Listing;
}

async function deviceKeys(name: string): Promise<string[]> {
  return ((await get(name, '/v1/devices')).devices as { agent: string; id: string }[]).map((d) => `${d.agent}/${d.id}`);
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

test('four agent processes converge, follow changes, notice a crash, take back a restart without ghosts', async () => {
  await start('a', ['a1', 'a2']);
  await start('b', ['b1']);
  await start('c', ['c1', 'c2', 'c3']);
  await start('d', ['d1']);
  const all = ['a/a1', 'a/a2', 'b/b1', 'c/c1', 'c/c2', 'c/c3', 'd/d1'];
  const names = [...agents.keys()];
  await eventually(
    'every agent lists every device',
    async () => {
      for (const n of names) if ((await deviceKeys(n)).join() !== all.join()) return false;
      return true;
    },
    5000,
  );

  // A change on b reaches everyone.
  await writeDevice(agents.get('b')!.profiles, 'b2');
  const took = await eventually(
    'b/b2 everywhere',
    async () => {
      for (const n of names) if (!(await deviceKeys(n)).includes('b/b2')) return false;
      return true;
    },
    3000,
  );
  assert.ok(took < 1000, `a change reached every agent in ${took} ms`);

  // c is killed: lost everywhere within 3.5 heartbeats (plus polling slack); its devices leave /v1/devices.
  await agents.get('c')!.proc.stop('SIGKILL');
  const killedAt = Date.now();
  await eventually(
    'c lost on a, b and d',
    async () => {
      for (const n of ['a', 'b', 'd']) {
        const c = ((await get(n, '/v1/agents')).agents as { name: string; state: string }[]).find(
          (x) => x.name === 'c',
        );
        if (c?.state !== 'lost') return false;
      }
      return true;
    },
    5000,
  );
  assert.ok(Date.now() - killedAt <= 3.5 * HEARTBEAT_MS + 500, `lost after ${Date.now() - killedAt} ms`);
  assert.not.ok((await deviceKeys('a')).some((k) => k.startsWith('c/')));
  assert.ok(((await get('a', '/v1/devices?include=lost')).devices as { agent: string }[]).some((d) => d.agent === 'c'));

  // c comes back (same state dir: a higher incarnation) with one device fewer: no ghost anywhere.
  const profiles = agents.get('c')!.profiles;
  await rm(join(profiles, 'c3.yaml'));
  agents.delete('c');
  await mkdir(profiles, { recursive: true });
  await startExisting('c', profiles);
  await eventually(
    'c back with two devices everywhere',
    async () => {
      for (const n of names) {
        const keys = (await deviceKeys(n)).filter((k) => k.startsWith('c/'));
        if (keys.join() !== 'c/c1,c/c2') return false;
      }
      return true;
    },
    5000,
  );

  // d stops cleanly: left on the others at once.
  await agents.get('d')!.proc.stop('SIGTERM');
  assert.is(await agents.get('d')!.proc.exit(), 0);
  await eventually(
    'd left',
    async () => {
      for (const n of ['a', 'b', 'c']) {
        const d = ((await get(n, '/v1/agents')).agents as { name: string; state: string }[]).find(
          (x) => x.name === 'd',
        );
        if (d?.state !== 'left') return false;
      }
      return true;
    },
    1000,
  );
});

async function startExisting(name: string, profiles: string): Promise<void> {
  const proc = runHerald([
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
    '--profiles',
    profiles,
    '--state-dir',
    join(root, name, 'state'),
    '--heartbeat-ms',
    String(HEARTBEAT_MS),
    '--log-format',
    'json',
  ]);
  const started = await proc.waitFor(
    () => proc.logs().find((l) => l.msg === 'agent started'),
    8000,
    `${name} restarted`,
  );
  agents.set(name, { proc, api: String(started.api), profiles });
}

test.run();
