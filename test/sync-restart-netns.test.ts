import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually, NetnsSite, netnsMissing, Testbed, type Host } from './helpers/netns.js';
import { testIf } from './helpers/requirements.js';

/**
 * Restarts and crashes at the worst moments, with real agent processes in network namespaces and 30 %
 * of the datagrams dropped by the kernel: a restart while a peer is catching up from the agent (a paged
 * snapshot of a large set), and a stop whose goodbyes are all lost, followed by a restart.
 */
const HEARTBEAT_MS = 500;
const test = suite('restarts and crashes under kernel loss (network namespaces)');
const missing = netnsMissing();
const cleanups: (() => Promise<void>)[] = [];

test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function makeSite(hosts: number): Promise<{ site: NetnsSite; bed: Testbed; root: string }> {
  const bed = new Testbed();
  cleanups.push(() => bed.destroy());
  const root = await mkdtemp(join(tmpdir(), 'herald-restart-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  await bed.create(hosts);
  const site = new NetnsSite(bed, root, [
    '--heartbeat-ms',
    String(HEARTBEAT_MS),
    '--discovery',
    'multicast',
    '--log-level',
    'debug',
  ]);
  cleanups.push(() => site.stopAll());
  for (const h of bed.hosts) await bed.dropIncoming(h, 7770, 30);
  return { site, bed, root };
}

/** `count` devices of about 5 KB each in a host's profile folder: several snapshot pages in all. */
async function writeLargeSet(root: string, host: Host, count: number, tag: string): Promise<void> {
  const dir = join(root, host.name, 'profiles');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const long = (n: number, seed: string) => `${seed}-${'x'.repeat(n)}`.slice(0, n);
  for (let i = 0; i < count; i++) {
    const id = `${tag}-${i}`;
    const device = {
      id,
      name: long(128, `n${i}`),
      model: long(128, 'm'),
      manufacturer: long(128, 'f'),
      location: long(128, 'l'),
      tags: Array.from({ length: 32 }, (_, t) => long(64, `t${t}`)),
      capabilities: Array.from({ length: 4 }, (_, c) => ({
        id: `value-${c}`,
        kind: 'property',
        type: 'temperature',
        description: long(512, `d${c}`),
      })),
    };
    await writeFile(join(dir, `${id}.json`), JSON.stringify(device));
  }
}

interface AgentRow {
  name: string;
  state: string;
  incarnation: number;
  version: number;
  devices: number;
}

/** Every viewer holds `origin` alive at the origin's own (incarnation, version) with its device count. */
async function allHoldAsOrigin(bed: Testbed, origin: Host, viewers: Host[], timeoutMs: number, what: string) {
  const row = async (viewer: Host) =>
    ((await bed.get(viewer, '/v1/agents')) as { agents: AgentRow[] }).agents.find((a) => a.name === origin.name);
  return eventually(
    what,
    async () => {
      const truth = await row(origin);
      if (!truth) return false;
      for (const v of viewers) {
        const seen = await row(v);
        if (seen?.state !== 'alive' || seen.incarnation !== truth.incarnation) return false;
        if (seen.version !== truth.version || seen.devices !== truth.devices) return false;
      }
      return true;
    },
    timeoutMs,
  );
}

testIf(
  test,
  missing,
  'an agent restarted while a peer pages its snapshot: every host ends with its new set',
  async () => {
    const { site, bed, root } = await makeSite(3);
    const [h1, h2, h3] = bed.hosts as [Host, Host, Host];
    await writeLargeSet(root, h1, 900, 'old'); // 4.6 MB: more than one catch-up answer may carry
    for (const h of [h2, h3]) await site.writeDevice(h, `${h.name}-sensor`);
    await site.start(h1);
    await site.start(h2);
    await allHoldAsOrigin(bed, h1, [h2], 20_000, 'h2 holds the 900 devices of h1');
    // h3 joins and starts paging h1's snapshot: h1 restarts with another set in the middle.
    await site.start(h3);
    const h3proc = site.agents.get('h3')!.proc;
    await h3proc.waitFor(() => h3proc.logs().some((l) => l.msg === 'agent discovered' && l.agent === 'h1'), 5000);
    await site.agents.get('h1')!.proc.stop('SIGKILL');
    await writeLargeSet(root, h1, 850, 'new');
    await site.start(h1);
    const took = await allHoldAsOrigin(bed, h1, [h2, h3], 30_000, "every host holds h1's new life");
    console.log(`    h1's new set of 850 large devices on every host ${took} ms after its restart`);
    for (const h of [h2, h3]) {
      assert.ok(await bed.get(h, '/v1/devices/h1/new-849'), 'a device of the new set');
      const url = 'http://127.0.0.1:7755/v1/devices/h1/old-3';
      const ghost = await bed.exec(h, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url);
      assert.is(ghost.stdout, '404', 'no device of the old set');
    }
  },
);

testIf(
  test,
  missing,
  'a stop whose goodbyes are all lost, then a restart: lost, then alive with the new set',
  async () => {
    const { site, bed } = await makeSite(3);
    const [h1, h2, h3] = bed.hosts as [Host, Host, Host];
    for (const h of [h1, h2, h3]) await site.writeDevice(h, `${h.name}-sensor`);
    for (const h of [h1, h2, h3]) await site.start(h);
    await site.allSee(['h1/h1-sensor', 'h2/h2-sensor', 'h3/h3-sensor'], 10_000, 'all see all');
    // Every datagram h2 sends from now on is dropped: its goodbyes never arrive.
    await bed.exec(h2, 'nft', 'add', 'table', 'inet', 'herald_mute');
    await bed.exec(h2, 'nft', 'add chain inet herald_mute out { type filter hook output priority 0; }');
    await bed.exec(h2, 'nft', 'add rule inet herald_mute out udp dport 7770 drop');
    await site.agents.get('h2')!.proc.stop('SIGTERM');
    await bed.exec(h2, 'nft', 'delete', 'table', 'inet', 'herald_mute');
    const gone = await eventually(
      'h2 out of service everywhere',
      async () => {
        for (const h of [h1, h3]) if ((await site.stateOf(h, 'h2')) === 'alive') return false;
        return true;
      },
      5000,
    );
    console.log(`    h2 no longer alive anywhere ${gone} ms after a stop whose goodbyes were lost`);
    await site.allSee(['h1/h1-sensor', 'h3/h3-sensor'], 2000, "h2's devices gone");
    await site.removeDevice(h2, 'h2-sensor');
    await site.writeDevice(h2, 'h2-meter');
    await site.start(h2);
    await site.allSee(['h1/h1-sensor', 'h2/h2-meter', 'h3/h3-sensor'], 8000, 'h2 back with its new set');
    for (const h of [h1, h3]) assert.is(await site.stateOf(h, 'h2'), 'alive');
  },
);

test.run();
