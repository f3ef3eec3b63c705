import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually, NetnsSite, netnsMissing, Testbed, type Host } from './helpers/netns.js';
import { testIf } from './helpers/requirements.js';

/**
 * Registration on a five-host site (one agent per network namespace): a bulk registration and its
 * withdrawal are one version each and reach every host; a TTL lapse withdraws everywhere; an HTTP
 * check against a real server flips the device on every host when the server stops and starts.
 */
const HEARTBEAT_MS = 500;
const test = suite('registration across hosts (network namespaces)');
const missing = netnsMissing();
const cleanups: (() => Promise<void>)[] = [];

test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function makeSite(hosts: number): Promise<{ site: NetnsSite; bed: Testbed; root: string }> {
  const bed = new Testbed();
  cleanups.push(() => bed.destroy());
  const root = await mkdtemp(join(tmpdir(), 'herald-regns-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  await bed.create(hosts);
  const site = new NetnsSite(bed, root, ['--heartbeat-ms', String(HEARTBEAT_MS), '--discovery', 'multicast']);
  cleanups.push(() => site.stopAll());
  for (const h of bed.hosts) await site.start(h);
  return { site, bed, root };
}

/** A write to a host's local API from inside that host (loopback), the way a local program makes it. */
async function put(bed: Testbed, root: string, host: Host, path: string, body: unknown, method = 'PUT') {
  const file = join(root, `body-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(body ?? {}));
  const { stdout } = await bed.exec(
    host,
    ...['curl', '-sS', '--max-time', '5', '-X', method, '-H', 'content-type: application/json'],
    ...['--data-binary', `@${file}`, `http://127.0.0.1:7755${path}`],
  );
  return JSON.parse(stdout) as { version: number | null; detail?: string };
}

async function versionsOf(bed: Testbed, hosts: Host[], agent: string): Promise<number[]> {
  const out: number[] = [];
  for (const h of hosts) {
    const agents = (await bed.get(h, '/v1/agents')) as { agents: { name: string; version: number }[] };
    out.push(agents.agents.find((a) => a.name === agent)?.version ?? -1);
  }
  return out;
}

async function healthEverywhere(site: NetnsSite, bed: Testbed, id: string, state: string, ms: number) {
  return eventually(
    `${id} ${state} on every host`,
    async () => {
      for (const h of site.alive()) {
        const d = (await bed.get(h, `/v1/devices/h3/${id}`)) as { health?: { status: string } };
        if (d.health?.status !== state) return false;
      }
      return true;
    },
    ms,
  );
}

testIf(test, missing, '100 devices in one request: one version, on every host; withdrawn in one version', async () => {
  const { site, bed, root } = await makeSite(5);
  const [h1] = bed.hosts;
  await site.allSee([], 10_000, 'the site is up');
  const before = (await versionsOf(bed, [h1], 'h1'))[0];
  const devices = Array.from({ length: 100 }, (_, i) => ({
    id: `bulk-${i}`,
    name: `Bulk ${i}`,
    capabilities: [{ id: 'value', kind: 'property', endpoint: `http://{address}:8080/bulk/${i}` }],
  }));
  const reg = await put(bed, root, h1, '/v1/local/devices', { devices });
  assert.is(reg.version, before + 1, JSON.stringify(reg));
  const keys = devices.map((d) => `h1/${d.id}`);
  const took = await site.allSee(keys, 5000, '100 registered devices on every host');
  console.log(`    100 registered devices on every host after ${took} ms`);
  // The site's p99 target is 1.5 s (at 30 % loss); the margin covers polling five hosts with curl.
  assert.ok(took <= 2000, `every host holds them promptly: ${took} ms`);
  assert.equal(await versionsOf(bed, bed.hosts, 'h1'), Array(5).fill(before + 1), 'one version, everywhere');

  const del = await put(bed, root, h1, '/v1/local/devices', { ids: devices.map((d) => d.id) }, 'DELETE');
  assert.is(del.version, before + 2);
  const gone = await site.allSee([], 5000, 'withdrawn on every host');
  console.log(`    withdrawn on every host after ${gone} ms`);
  assert.ok(gone <= 2000, `withdrawn promptly: ${gone} ms`);
  assert.equal(await versionsOf(bed, bed.hosts, 'h1'), Array(5).fill(before + 2));
});

testIf(test, missing, 'a TTL registration not renewed is withdrawn everywhere within TTL + one heartbeat', async () => {
  const { site, bed, root } = await makeSite(5);
  const h2 = bed.hosts[1];
  const ttlMs = 2000;
  await put(bed, root, h2, '/v1/local/devices/pump', { name: 'Pump', capabilities: [], ttl: ttlMs / 1000 });
  const registered = Date.now();
  await site.allSee(['h2/pump'], 3000, 'pump on every host');
  await site.allSee([], ttlMs + HEARTBEAT_MS + 1500, 'pump withdrawn on every host');
  const lapsed = Date.now() - registered;
  console.log(
    `    withdrawn everywhere ${lapsed} ms after registration (TTL ${ttlMs} ms, heartbeat ${HEARTBEAT_MS} ms)`,
  );
  assert.ok(lapsed >= ttlMs, 'not before its TTL');
  assert.ok(lapsed <= ttlMs + HEARTBEAT_MS + 300, `within TTL + one heartbeat (+ polling slack): ${lapsed} ms`);
});

testIf(
  test,
  missing,
  'an HTTP check flips critical and back on every host as a real server stops and starts',
  async () => {
    const { site, bed, root } = await makeSite(5);
    const h3 = bed.hosts[2];
    let server: ChildProcess | undefined;
    const startServer = async () => {
      server = spawn('ip', [
        ...['netns', 'exec', h3.ns, process.execPath, '-e'],
        "require('http').createServer((q, s) => s.end('ok')).listen(18080, '10.77.0.3')",
      ]);
      await eventually(
        'server listening',
        async () => (await bed.exec(h3, 'curl', '-sf', 'http://10.77.0.3:18080/')).stdout === 'ok',
        3000,
      );
    };
    const stopServer = async () => {
      const s = server;
      server = undefined;
      if (!s || s.exitCode !== null) return;
      s.kill('SIGKILL');
      await new Promise((r) => s.once('exit', r));
    };
    cleanups.push(stopServer);
    await startServer();
    const check = {
      id: 'web',
      type: 'http',
      url: 'http://{address}:18080/',
      interval: '300ms',
      timeout: '200ms',
      success_before_passing: 2,
      failures_before_critical: 3,
    };
    const reg = await put(bed, root, h3, '/v1/local/devices/web', { name: 'Web', capabilities: [], checks: [check] });
    assert.ok(reg.version, JSON.stringify(reg));
    await healthEverywhere(site, bed, 'web', 'passing', 5000);
    await stopServer();
    const down = await healthEverywhere(site, bed, 'web', 'critical', 5000);
    console.log(`    critical on every host ${down} ms after the server stopped`);
    assert.ok(down >= 2 * 300 * 0.9, 'not before three failed checks');
    await startServer();
    const up = await healthEverywhere(site, bed, 'web', 'passing', 5000);
    console.log(`    passing on every host ${up} ms after the server started`);
    const shown = (await bed.get(bed.hosts[0], '/v1/devices/h3/web')) as { health: { output: string } };
    assert.match(shown.health.output, /HTTP GET http:\/\/10\.77\.0\.3:18080\/: 200/);
  },
);

test.run();
