import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IncomingMessage } from 'node:http';
import { FileRegistrationStore } from '../src/registration/store.js';
import { writeDenied } from '../src/registration/write-guard.js';
import { bearerAuthorizer } from '../src/security/api-token.js';
import { seededRandom } from '../src/util/random.js';
import { device, SimSite, type SimAgent } from './helpers/sim.js';

let site: SimSite;
let me: SimAgent;
let base: string;
let stateDir: string;

const fileDevice = device('from-file');

async function startMe(components = {}): Promise<void> {
  me = await site.start('alpha', [fileDevice], {
    api: true,
    index: 1,
    components: { registrations: new FileRegistrationStore(stateDir), ...components },
  });
  base = `http://127.0.0.1:${me.agent.apiEndpoint!.port}`;
}

test.before.each(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'herald-reg-'));
  site = new SimSite(11);
  await startMe();
  await site.start('beta', [device('meter')]);
  assert.ok((await site.runUntilConverged(5000)) >= 0, 'site converges');
});

test.after.each(async () => {
  await site.stopAll();
  await rm(stateDir, { recursive: true, force: true });
});

/** The fields of the answers these tests read. */
interface Answer {
  version: number | null;
  added: string[];
  updated: string[];
  removed: string[];
  devices: { id: string; source: string; persist?: boolean; health?: { status: string } }[];
  count: number;
  detail: string;
  expiresAt: string;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(base + path, {
    method: method as 'GET',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    type: String(res.headers['content-type']),
    body: (text ? JSON.parse(text) : {}) as Answer,
  };
}

const reg = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: `Registered ${id}`,
  capabilities: [{ id: 'value', kind: 'property', endpoint: 'http://{address}:9000/' + id }],
  ...extra,
});

function betaHolds(id: string): boolean {
  return site.agents.get('beta')!.agent.directory.device('alpha', id) !== undefined;
}

test('PUT registers a device in one version; peers hold it; DELETE withdraws it in one version', async () => {
  const v0 = me.agent.local.currentVersion;
  const put = await call('PUT', '/v1/local/devices/sensor-1', reg('sensor-1'));
  assert.is(put.status, 200, JSON.stringify(put.body));
  assert.is(put.body.version, v0 + 1);
  assert.equal(put.body.added, ['sensor-1']);
  await site.runUntilConverged(3000);
  assert.ok(betaHolds('sensor-1'), 'the peer holds the registered device');
  assert.is(
    site.agents.get('beta')!.agent.directory.device('alpha', 'sensor-1')!.capabilities[0].endpoint,
    'http://10.0.0.1:9000/sensor-1',
    'endpoints are expanded as for files',
  );

  const same = await call('PUT', '/v1/local/devices/sensor-1', reg('sensor-1'));
  assert.is(same.body.version, null, 'the same registration again makes no version');
  const upd = await call('PUT', '/v1/local/devices/sensor-1', reg('sensor-1', { location: 'shed' }));
  assert.is(upd.body.version, v0 + 2);
  assert.equal(upd.body.updated, ['sensor-1']);

  const list = await call('GET', '/v1/local/devices');
  assert.equal(
    list.body.devices.map((d) => `${d.id}:${d.source}`),
    ['from-file:file', 'sensor-1:registration'],
  );

  const del = await call('DELETE', '/v1/local/devices/sensor-1');
  assert.is(del.body.version, v0 + 3);
  assert.equal(del.body.removed, ['sensor-1']);
  await site.runUntilConverged(3000);
  assert.not.ok(betaHolds('sensor-1'));
});

test('a list of 100 registrations is one version, and withdrawing them all is one more', async () => {
  const v0 = me.agent.local.currentVersion;
  const devices = Array.from({ length: 100 }, (_, i) => reg(`bulk-${i}`, { id: `bulk-${i}` }));
  const put = await call('PUT', '/v1/local/devices', { devices });
  assert.is(put.status, 200, JSON.stringify(put.body));
  assert.is(put.body.version, v0 + 1);
  assert.is(put.body.added.length, 100);
  await site.runUntilConverged(5000);
  assert.is(site.agents.get('beta')!.agent.directory.devices({ agent: 'alpha' }).length, 101);
  const del = await call('DELETE', '/v1/local/devices', { ids: devices.map((d) => d.id as string) });
  assert.is(del.body.version, v0 + 2);
  await site.runUntilConverged(5000);
  assert.is(site.agents.get('beta')!.agent.directory.devices({ agent: 'alpha' }).length, 1);
});

test('a TTL registration is withdrawn everywhere when not renewed; renewing keeps it', async () => {
  await call('PUT', '/v1/local/devices/kept', reg('kept', { ttl: '2s' }));
  await call('PUT', '/v1/local/devices/lapsing', reg('lapsing', { ttl: 2 }));
  await site.runUntilConverged(1000);
  assert.ok(betaHolds('kept') && betaHolds('lapsing'));
  for (let i = 0; i < 4; i++) {
    await site.clock.advance(1000);
    const renew = await call('PUT', '/v1/local/devices/kept/renew');
    assert.is(renew.status, 200, JSON.stringify(renew.body));
  }
  await site.runUntilConverged(1000);
  assert.ok(betaHolds('kept'), 'renewed: still there after twice its TTL');
  assert.not.ok(betaHolds('lapsing'), 'not renewed: withdrawn on the peer');
  assert.is((await call('PUT', '/v1/local/devices/lapsing/renew')).status, 404);
  assert.is((await call('PUT', '/v1/local/devices/from-file/renew')).status, 409);
});

test('a reload of the files keeps registrations; a file taking a registered id is refused', async () => {
  await call('PUT', '/v1/local/devices/runtime', reg('runtime'));
  await site.change('alpha', [fileDevice, device('second-file')]);
  const ids = me.agent.local.devices().map((d) => d.id);
  assert.equal(ids.sort(), ['from-file', 'runtime', 'second-file']);
  const v = me.agent.local.currentVersion;
  await site.change('alpha', [fileDevice, device('runtime')]);
  assert.is(me.agent.local.currentVersion, v, 'the clashing folder is refused whole');
  assert.ok(me.agent.readiness().checks.profiles.detail!.includes('refused'));
  assert.ok(me.logs.some((l) => String(l.msg).includes("'runtime' is registered over the API")));
});

test('persist: true survives a restart; other registrations do not', async () => {
  await call('PUT', '/v1/local/devices/kept', reg('kept', { persist: true }));
  await call('PUT', '/v1/local/devices/gone', reg('gone'));
  await site.crash('alpha');
  await startMe();
  await site.runUntilConverged(5000);
  const list = await call('GET', '/v1/local/devices');
  assert.equal(
    list.body.devices.map((d) => `${d.id}:${d.persist ?? '-'}`),
    ['from-file:-', 'kept:true'],
  );
  assert.ok(betaHolds('kept'));
  assert.not.ok(betaHolds('gone'));
});

test('the store: atomic replace leaves no temporary file; a damaged entry is reported and skipped', async () => {
  const store = new FileRegistrationStore(join(stateDir, 'sub'));
  await store.save([{ document: reg('one', { id: 'one' }), ttlMs: 5000 }]);
  assert.equal(await readdir(join(stateDir, 'sub')), ['registrations.json']);
  const back = await store.load();
  assert.equal([back.registrations.map((r) => [r.device.id, r.ttlMs]), back.errors], [[['one', 5000]], []]);
  await writeFile(
    join(stateDir, 'sub', 'registrations.json'),
    JSON.stringify({ format: 1, registrations: [{ document: reg('two', { id: 'two' }) }, { document: { id: 'X!' } }] }),
  );
  const partly = await store.load();
  assert.equal(
    partly.registrations.map((r) => r.device.id),
    ['two'],
  );
  assert.match(partly.errors[0], /registrations\[1\] is not a valid device/);
  await writeFile(join(stateDir, 'sub', 'registrations.json'), '{"format": 1, "registr');
  assert.match((await store.load()).errors[0], /not valid JSON; persistent registrations were not restored/);
});

test('bad registrations get a 4xx problem naming what was wrong and change nothing', async () => {
  const v0 = me.agent.local.currentVersion;
  const cases: [string, string, unknown, number, RegExp][] = [
    ['PUT', '/v1/local/devices/Bad_ID', reg('x'), 400, /'Bad_ID' is not a valid device id/],
    [
      'PUT',
      '/v1/local/devices/x',
      reg('x', { capabilities: [{ id: 'c', kind: 'gadget' }] }),
      422,
      /capabilities\[0\]\.kind: must be one of/,
    ],
    ['PUT', '/v1/local/devices/x', { capabilities: [] }, 422, /name: is required/],
    ['PUT', '/v1/local/devices/from-file', reg('from-file'), 409, /already offered by the profile memory:from-file/],
    ['PUT', '/v1/local/devices/x', reg('x', { id: 'y' }), 400, /differs from the id in the path/],
    ['PUT', '/v1/local/devices/x', reg('x', { ttl: 'soon' }), 422, /ttl: must be from 0.5 to 86400 seconds/],
    ['PUT', '/v1/local/devices/x', reg('x', { health: { status: 'passing', checks: [] } }), 422, /health: is set/],
    ['PUT', '/v1/local/devices/x', '{not json', 400, /not valid JSON/],
    [
      'PUT',
      '/v1/local/devices',
      { devices: Array.from({ length: 1100 }, (_, i) => ({ id: `n${i}`, name: 'n', capabilities: [] })) },
      409,
      /one agent offers at most 1024/,
    ],
    [
      'PUT',
      '/v1/local/devices',
      { devices: [reg('ok', { id: 'ok' }), reg('bad', { id: 'bad', name: 7 })] },
      422,
      /devices\[1\]\.name: must be a string/,
    ],
    [
      'PUT',
      '/v1/local/devices',
      {
        devices: Array.from({ length: 33 }, (_, i) =>
          reg(`c${i}`, { id: `c${i}`, checks: Array.from({ length: 8 }, (_, j) => ({ id: `t${j}`, type: 'ttl' })) }),
        ),
      },
      409,
      /this would make 264 checks on this host; at most 256 run on one host/,
    ],
    ['PUT', '/v1/local/devices/x', reg('x', { location: 'x'.repeat(600_000) }), 413, /larger than 524288 bytes/],
    ['DELETE', '/v1/local/devices/nothing', undefined, 404, /no device 'nothing' is registered/],
    ['DELETE', '/v1/local/devices/from-file', undefined, 409, /comes from the profile/],
    ['POST', '/v1/local/devices/x', reg('x'), 405, /POST is not supported/],
  ];
  for (const [method, path, body, status, detail] of cases) {
    const r = await call(method, path, body);
    assert.is(r.status, status, `${method} ${path}: ${JSON.stringify(r.body).slice(0, 200)}`);
    assert.is(r.type, 'application/problem+json');
    assert.match(r.body.detail, detail);
  }
  const host = await call('PUT', '/v1/local/devices/x', reg('x'), { host: 'evil.example:7755' });
  assert.is(host.status, 403);
  assert.match(host.body.detail, /loopback Host header/);
  assert.is(me.agent.local.currentVersion, v0, 'nothing changed');
  assert.is((await call('GET', '/v1/local/devices')).body.count, 1);
});

test('a persistent registration that cannot be saved is answered 500 saying so', async () => {
  await site.crash('alpha');
  const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
  await startMe({
    registrations: {
      description: 'a full disk',
      load: () => Promise.resolve({ registrations: [], errors: [] }),
      save: () => Promise.reject(full),
    },
  });
  const r = await call('PUT', '/v1/local/devices/kept', reg('kept', { persist: true }));
  assert.is(r.status, 500);
  assert.match(r.body.detail, /could not be saved to the state folder \(ENOSPC\)/);
  assert.ok(me.logs.some((l) => l.msg === 'cannot save registrations'));
});

test('mutated registration and report bodies get 200 or a 4xx problem, never a 500', async () => {
  const random = seededRandom(Number(process.env.HERALD_FUZZ_SEED ?? 20261126));
  const valid = JSON.stringify({
    devices: [
      reg('fz', {
        id: 'fz',
        ttl: '5s',
        checks: [
          { id: 'b', type: 'ttl' },
          { id: 'h', type: 'http', url: 'http://x/' },
        ],
      }),
    ],
  });
  const statuses = new Map<number, number>();
  for (let i = 0; i < 150; i++) {
    const b = Buffer.from(valid);
    for (let n = 0; n < 1 + Math.floor(random() * 4); n++)
      b[Math.floor(random() * b.length)] = 32 + Math.floor(random() * 95);
    const path = i % 3 === 2 ? '/v1/local/devices/fz/health' : '/v1/local/devices';
    const r = await call('PUT', path, i % 3 === 2 ? b.toString().slice(0, 40) : b.toString());
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `status ${r.status}: ${JSON.stringify(r.body)}`);
  }
  assert.ok((statuses.get(422) ?? 0) + (statuses.get(400) ?? 0) > 50, 'most mutations are refused');
});

test('who may write: a loopback peer with a loopback Host, the socket, or the token holder', () => {
  const req = (remoteAddress: string, host?: string) =>
    ({ socket: { remoteAddress }, headers: host === undefined ? {} : { host } }) as unknown as IncomingMessage;
  assert.is(writeDenied(req('127.0.0.1', '127.0.0.1:7755'), 'tcp', false), undefined);
  assert.is(writeDenied(req('::ffff:127.0.0.1', 'localhost:7755'), 'tcp', false), undefined);
  assert.is(writeDenied(req('::1', '[::1]:7755'), 'tcp', false), undefined);
  assert.match(writeDenied(req('10.0.0.5', '127.0.0.1:7755'), 'tcp', false)!.detail, /came from 10\.0\.0\.5/);
  assert.match(writeDenied(req('127.0.0.1', 'herald.example'), 'tcp', false)!.detail, /loopback Host header/);
  assert.match(writeDenied(req('127.0.0.1'), 'tcp', false)!.detail, /loopback Host header/);
  assert.is(writeDenied(req('10.0.0.5', 'herald.example'), 'socket', false), undefined, 'the socket file mode decides');
  assert.is(writeDenied(req('10.0.0.5', 'herald.example'), 'tcp', true), undefined, 'the token was checked already');
});

test('with an API token, writes need it', async () => {
  await site.crash('alpha');
  await startMe({ authorizeApi: bearerAuthorizer('s3cret-token-0123456789'), apiToken: true });
  const denied = await call('PUT', '/v1/local/devices/x', reg('x'), { authorization: 'Bearer wrong-token-000000000' });
  assert.is(denied.status, 401);
  assert.match(denied.body.detail, /bearer token is not valid/);
  const ok = await call('PUT', '/v1/local/devices/x', reg('x'), { authorization: 'Bearer s3cret-token-0123456789' });
  assert.is(ok.status, 200);
});

test.run();
