import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import { PeerHttpServer } from '../src/http/peer-server.js';
import { encodeMessage } from '../src/protocol/codec.js';
import { HmacEnvelope } from '../src/protocol/hmac-envelope.js';
import { MessageType } from '../src/protocol/messages.js';
import { generateKey, parseKeyRing } from '../src/security/cluster-key.js';
import { AUTH_HEADER, PeerAuth } from '../src/security/peer-auth.js';
import { DirectoryPeerService, helloOf } from '../src/sync/peer-service.js';
import { HttpPeerClient } from '../src/transport/http-peer-client.js';
import { FakeClock, systemClock } from '../src/util/clock.js';
import { device, SimSite } from './helpers/sim.js';
import { runHerald, testGroupPort } from './helpers/process.js';

const keyA = parseKeyRing(generateKey());
/** Another site's key: its 1-byte id differs from keyA's (equal ids, 1 draw in 256, are another case, refused
 * as a bad signature, and a key file holding both is refused): these tests failed once so. */
function otherKey() {
  for (;;) {
    const key = parseKeyRing(generateKey());
    if (key.signing.id !== keyA.signing.id) return key;
  }
}
const keyB = otherKey();

test('key files: hex or base64, at least 32 bytes, at most two keys, clear errors', () => {
  assert.is(parseKeyRing(`# site key\n${generateKey()}\n`).all.length, 1);
  assert.is(parseKeyRing(Buffer.alloc(32, 7).toString('base64')).signing.secret.length, 32);
  assert.throws(() => parseKeyRing('abcd'), /key is 2 bytes, at least 32/);
  assert.throws(() => parseKeyRing('not a key!'), /not a hex or base64 key/);
  assert.throws(() => parseKeyRing(''), /no key in it/);
  assert.throws(() => parseKeyRing([generateKey(), generateKey(), generateKey()].join('\n')), /at most two/);
});

test('the envelope refuses unsigned, tampered, foreign-key and stale datagrams, each with its reason', () => {
  const clock = new FakeClock();
  const env = new HmacEnvelope(keyA, clock);
  const { bytes } = encodeMessage({
    type: MessageType.heartbeat,
    site: 's',
    name: 'a',
    incarnation: 1,
    version: 1,
    peerPort: 1,
    hints: [],
  });
  const sealed = env.seal(bytes);
  assert.equal(Buffer.from(env.open(sealed)), bytes);
  const tampered = Buffer.from(sealed);
  tampered[8] ^= 1;
  assert.throws(
    () => env.open(tampered),
    (e: { reason?: string }) => e.reason === 'bad-signature',
  );
  assert.throws(
    () => env.open(new HmacEnvelope(keyB, clock).seal(bytes)),
    (e: { reason?: string }) => e.reason === 'unknown-key',
  );
  assert.throws(
    () => env.open(bytes),
    (e: { reason?: string }) => e.reason === 'unsigned',
  );
  const later = new HmacEnvelope(keyA, new FakeClock(200_000));
  assert.throws(
    () => later.open(sealed),
    (e: { reason?: string; message: string }) => e.reason === 'stale' && /outside the 120 s window/.test(e.message),
  );
});

test('forged, tampered and replayed datagrams change nothing while signed traffic converges', async () => {
  const site = new SimSite(21, { loss: 0.1 }, 1000, keyA);
  const captured: { from: string; data: Uint8Array }[] = [];
  site.network.onSend = (from, data) => captured.push({ from, data });
  for (const n of ['a', 'b', 'c']) await site.start(n, [device(`${n}-1`)]);
  await site.clock.advance(3000);
  const before = site.running().map((a) => a.agent.directory.digest());

  // An attacker without the key: unsigned claims of a newer version and of new devices, a goodbye,
  // a signed datagram with a flipped bit, and a different key.
  const forged = encodeMessage({
    type: MessageType.announce,
    site: 'sim',
    name: 'a',
    incarnation: 99_999,
    version: 1,
    peerPort: 7771,
    hints: [],
    delta: { version: 1, added: [device('evil')], updated: [], removed: [] },
  }).bytes;
  const goodbye = encodeMessage({
    type: MessageType.goodbye,
    site: 'sim',
    name: 'b',
    incarnation: 99_999,
    version: 9,
    peerPort: 7771,
    hints: [],
  }).bytes;
  site.network.loss = 0; // every receiver gets every forgery, so that the counts below are exact
  const genuine = captured.at(-1)!;
  site.network.inject('10.66.6.6', forged);
  site.network.inject('10.66.6.6', goodbye);
  site.network.inject('10.66.6.6', new HmacEnvelope(keyB, site.clock).seal(forged));
  const flipped = Buffer.from(genuine.data);
  flipped[10] ^= 0x40;
  site.network.inject(genuine.from, flipped);
  await site.clock.advance(500);
  assert.equal(
    site.running().map((a) => a.agent.directory.digest()),
    before,
    'nothing changed',
  );
  site.network.loss = 0.1;
  const c = site.agents.get('c')!.agent;
  assert.is(c.metrics.decodeErrors.get({ reason: 'unsigned' }), 2);
  assert.is(c.metrics.decodeErrors.get({ reason: 'unknown-key' }), 1);
  assert.is(c.metrics.decodeErrors.get({ reason: 'bad-signature' }), 1);

  // Replays: within the window they carry nothing new; after it they are refused as stale.
  await site.change('a', [device('a-1'), device('a-2')]);
  await site.clock.advance(2000);
  const old = captured.slice(0, 20);
  site.network.loss = 0;
  for (const d of old) site.network.inject(d.from, d.data);
  await site.clock.advance(200);
  assert.ok(site.converged());
  await site.clock.advance(130_000);
  const staleBefore = c.metrics.decodeErrors.get({ reason: 'stale' });
  for (const d of old) site.network.inject(d.from, d.data);
  await site.clock.advance(100);
  assert.ok(c.metrics.decodeErrors.get({ reason: 'stale' }) > staleBefore);
  assert.ok(site.converged());
  assert.equal(
    c.directory.devices({ agent: 'a' }).map((d) => d.id),
    ['a-1', 'a-2'],
  );
  await site.stopAll();
});

test('key rotation without downtime: add the new key, sign with it, drop the old one', async () => {
  const site = new SimSite(22, {}, 1000, keyA);
  const names = ['a', 'b', 'c', 'd'];
  for (const n of names) await site.start(n, [device(`${n}-1`)]);
  await site.clock.advance(3000);
  const both = parseKeyRing(`${keyA.signing.secret.toString('hex')}\n${keyB.signing.secret.toString('hex')}`);
  const bothNewFirst = parseKeyRing(`${keyB.signing.secret.toString('hex')}\n${keyA.signing.secret.toString('hex')}`);
  let revision = 0;
  for (const stage of [both, bothNewFirst, keyB]) {
    for (const n of names) {
      site.envelopes.get(n)!.setKeys(stage); // one agent at a time, as an operator's rollout would
      await site.change(n, [device(`${n}-1`), device(`${n}-r${++revision}`)]);
      await site.clock.advance(300);
      assert.ok(site.converged(), `converged with ${n} moved to the next stage`);
    }
  }
  for (const a of site.running()) {
    assert.is(
      a.agent.metrics.decodeErrors.get({ reason: 'unknown-key' }) +
        a.agent.metrics.decodeErrors.get({ reason: 'bad-signature' }),
      0,
      `${a.name} never refused a peer`,
    );
  }
  await site.stopAll();
});

// ---- the peer endpoint over real HTTP ------------------------------------------------------------

async function peerServer(
  auth?: PeerAuth,
): Promise<{ server: PeerHttpServer; url: string; port: number; directory: Directory }> {
  const clock = systemClock();
  const directory = new Directory({ clock }, { site: 's' });
  directory.ensureOrigin('a', { local: true });
  directory.applyDeltas('a', 5, [{ version: 1, added: [device('a-1')], updated: [], removed: [] }]);
  const service = new DirectoryPeerService({
    directory,
    identity: helloOf({ name: 'a', site: 's', incarnation: 5 }, () => 1),
  });
  const server = new PeerHttpServer(
    service,
    { host: '127.0.0.1', port: 0 },
    { auth, clock, ratePerSecond: 5, burst: 10 },
  );
  const { port } = await server.start();
  return { server, url: `http://127.0.0.1:${port}`, port, directory };
}

test('the peer endpoint refuses unsigned requests, bodies, other methods, and floods', async () => {
  const auth = new PeerAuth(keyA, systemClock());
  const { server, url, port } = await peerServer(auth);
  try {
    const unsigned = await request(`${url}/v1/peer/hello`);
    assert.is(unsigned.statusCode, 401);
    assert.match(((await unsigned.body.json()) as { detail: string }).detail, /missing authentication/);
    const foreign = new PeerAuth(keyB, systemClock()).signRequest('GET', '/v1/peer/hello');
    const bad = await request(`${url}/v1/peer/hello`, { headers: { [AUTH_HEADER]: foreign.header } });
    assert.is(bad.statusCode, 401);
    await bad.body.dump();
    const post = await request(`${url}/v1/peer/hello`, { method: 'POST', body: 'x' });
    assert.is(post.statusCode, 405);
    await post.body.dump();

    const client = new HttpPeerClient({ auth });
    const hello = await client.hello({ address: '127.0.0.1', port }, 1000);
    assert.is(hello.name, 'a');
    const changes = await client.changes(
      { address: '127.0.0.1', port },
      { origin: 'a', since: 0, incarnation: 0 },
      1000,
    );
    assert.is(changes?.kind, 'snapshot');
    // A burst far beyond need is cut off with 429 (over a few connections: more than 16 from one address
    // would be refused before any request, by the per-source connection cap).
    const pool = new Pool(url, { connections: 4 });
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const r = await request(`${url}/v1/peer/hello`, { dispatcher: pool });
        await r.body.dump();
        return r.statusCode;
      }),
    );
    assert.ok(statuses.includes(429));
    await pool.close();
    await client.close();
  } finally {
    await server.stop();
  }
});

async function fakePeer(
  handler: (res: import('node:http').ServerResponse) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => handler(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

test('a peer that answers 10 MB, never finishes, lies in JSON or does not sign cannot wedge or bloat a fetch', async () => {
  const cases: [string, (res: import('node:http').ServerResponse) => void, RegExp][] = [
    [
      '10 MB',
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 10 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
      /more than 4194304 bytes/,
    ],
    [
      'declared 10 MB',
      (res) => {
        res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
        res.write('{');
      },
      /announced 10485760 bytes/,
    ],
    [
      'never ends',
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"kind":');
      },
      /timed out/,
    ],
    [
      'malformed',
      (res) => res.end('{"kind": "deltas", "origin": "a", "incarnation": 1, "version": 2, "deltas": [{"version": 2}]}'),
      /delta lists are missing/,
    ],
    ['not JSON', (res) => res.end('<html>'), /did not answer JSON/],
  ];
  const client = new HttpPeerClient();
  for (const [name, handler, pattern] of cases) {
    const { server, port } = await fakePeer(handler);
    const t0 = Date.now();
    const heap0 = process.memoryUsage().heapUsed;
    try {
      await client.changes({ address: '127.0.0.1', port }, { origin: 'a', since: 1, incarnation: 1 }, 800);
      assert.unreachable(`${name}: should fail`);
    } catch (err) {
      assert.match((err as Error).message, pattern, name);
    } finally {
      server.closeAllConnections();
      server.close();
    }
    assert.ok(Date.now() - t0 < 2000, `${name}: gave up in ${Date.now() - t0} ms`);
    assert.ok(process.memoryUsage().heapUsed - heap0 < 32 * 1024 * 1024, `${name}: memory stayed bounded`);
  }
  const signedClient = new HttpPeerClient({ auth: new PeerAuth(keyA, systemClock()) });
  const { server, port } = await fakePeer((res) =>
    res.end(JSON.stringify({ kind: 'snapshot', origin: 'a', incarnation: 1, version: 1, entries: [] })),
  );
  try {
    await signedClient.changes({ address: '127.0.0.1', port }, { origin: 'a', since: 0, incarnation: 0 }, 800);
    assert.unreachable('an unsigned answer must be refused');
  } catch (err) {
    assert.match((err as Error).message, /without a valid signature \(missing\)/);
  } finally {
    server.close();
  }
  await client.close();
  await signedClient.close();
});

test('the local API beyond loopback needs a token: refused without one, 401 without the header', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-token-'));
  try {
    const base = [
      'agent',
      '--profiles',
      'device-profiles',
      '--peer-port',
      '0',
      '--group',
      `239.255.70.70:${testGroupPort()}`,
      '--site',
      `tok-${process.pid}`,
      '--log-format',
      'json',
    ];
    const refused = runHerald([...base, '--api', '0.0.0.0:0']);
    assert.is(await refused.exit(), 64);
    assert.match(refused.stderr.join('\n'), /listens beyond loopback: set --api-token-file/);

    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'a-long-enough-secret-token\n');
    const agent = runHerald([...base, '--api', '0.0.0.0:0', '--api-token-file', tokenFile]);
    try {
      const started = await agent.waitFor(
        () => agent.logs().find((l) => l.msg === 'agent started'),
        8000,
        'agent started',
      );
      const port = String(started.api).split(':').pop();
      const anonymous = await request(`http://127.0.0.1:${port}/v1/devices`);
      assert.is(anonymous.statusCode, 401);
      assert.is(anonymous.headers['www-authenticate'], 'Bearer realm="herald"');
      await anonymous.body.dump();
      const authorized = await request(`http://127.0.0.1:${port}/v1/devices`, {
        headers: { authorization: 'Bearer a-long-enough-secret-token' },
      });
      assert.is(authorized.statusCode, 200);
      await authorized.body.dump();
      const ls = runHerald(['ls', '--api', `127.0.0.1:${port}`, '--token-file', tokenFile]);
      assert.is(await ls.exit(), 0);
      assert.ok(
        agent.logs().some((l) => /no cluster key/.test(String(l.msg))),
        'an open cluster is warned about',
      );
    } finally {
      await agent.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
