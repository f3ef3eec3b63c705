import './helpers/no-unhandled.js';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Directory } from '../src/directory/directory.js';
import { EventJournal } from '../src/directory/event-journal.js';
import { ApiServer } from '../src/http/api-server.js';
import { createHeraldMetrics } from '../src/metrics/herald-metrics.js';
import { loopbackHostAuthorizer } from '../src/security/loopback.js';
import { createLogger } from '../src/util/logger.js';
import { PeerHttpServer } from '../src/http/peer-server.js';
import { generateKey, parseKeyRing } from '../src/security/cluster-key.js';
import { DirectoryPeerService, helloOf } from '../src/sync/peer-service.js';
import { HttpPeerClient } from '../src/transport/http-peer-client.js';
import { systemClock } from '../src/util/clock.js';
import { seededRandom, type Random } from '../src/util/random.js';
import { device, SimSite } from './helpers/sim.js';

/** Bounded fuzzing (a few seconds each, seeded so that a failure repeats): no crash, no state change. */
const SECONDS = Number(process.env.HERALD_FUZZ_SECONDS ?? 2);
const seed = Number(process.env.HERALD_FUZZ_SEED ?? 20261126);

/** A changed copy of `input` (never identical: an identical copy would be a replay, not a mutation). */
function mutate(random: Random, input: Uint8Array): Buffer {
  const out = mutateOnce(random, input);
  if (out.equals(Buffer.from(input))) out[Math.floor(random() * out.length)] ^= 1 << Math.floor(random() * 8);
  return out;
}

function mutateOnce(random: Random, input: Uint8Array): Buffer {
  const b = Buffer.from(input);
  const op = random();
  if (op < 0.5) {
    for (let i = 0, n = 1 + Math.floor(random() * 6); i < n; i++)
      b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
    return b;
  }
  if (op < 0.7) return b.subarray(0, Math.floor(random() * b.length));
  if (op < 0.85) return Buffer.concat([b, randomBytes(random, 1 + Math.floor(random() * 64))]);
  const at = Math.floor(random() * b.length);
  return Buffer.concat([
    b.subarray(0, at),
    randomBytes(random, Math.floor(random() * 16)),
    b.subarray(at + Math.floor(random() * 8)),
  ]);
}

function randomBytes(random: Random, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
  return b;
}

test('datagram fuzz: random and mutated datagrams into a keyed cluster change nothing and are all counted', async () => {
  const random = seededRandom(seed);
  const site = new SimSite(31, {}, 1000, parseKeyRing(generateKey()));
  const valid: Uint8Array[] = [];
  site.network.onSend = (_from, data) => {
    if (valid.length < 200) valid.push(data);
  };
  for (const n of ['a', 'b', 'c']) await site.start(n, [device(`${n}-1`), device(`${n}-2`)]);
  await site.change('a', [device('a-1')]);
  await site.clock.advance(3000);
  site.network.onSend = undefined;
  const before = site.running().map((a) => a.agent.directory.digest());
  let injected = 0;
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 200; i++) {
      const junk =
        random() < 0.3
          ? randomBytes(random, Math.floor(random() * 1400))
          : mutate(random, valid[Math.floor(random() * valid.length)]);
      site.network.inject('10.66.6.6', junk);
      injected += 1;
    }
    await site.clock.advance(1);
  }
  await site.clock.advance(100);
  assert.equal(
    site.running().map((a) => a.agent.directory.digest()),
    before,
    'no state change from invalid input',
  );
  const b = site.agents.get('b')!.agent;
  const text = b.metrics.registry.render();
  const dropped = [...text.matchAll(/^herald_decode_errors_total\{reason="[^"]+"\} (\d+)$/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  assert.ok(dropped >= injected, `every one of ${injected} fuzzed datagrams was dropped and counted (${dropped})`);
  await site.clock.advance(3000);
  assert.ok(site.converged(), 'still converged and alive');
  await site.stopAll();
});

test('peer endpoint fuzz: random requests and raw garbage never crash it or change the directory', async () => {
  const random = seededRandom(seed + 1);
  const clock = systemClock();
  const directory = new Directory({ clock }, { site: 's' });
  directory.ensureOrigin('a', { local: true });
  directory.applyDeltas('a', 5, [{ version: 1, added: [device('a-1')], updated: [], removed: [] }]);
  const digest = directory.digest();
  const server = new PeerHttpServer(
    new DirectoryPeerService({ directory, identity: helloOf({ name: 'a', site: 's', incarnation: 5 }, () => 1) }),
    { host: '127.0.0.1', port: 0 },
    { clock, ratePerSecond: 1e6, burst: 1e6 },
  );
  const { port } = await server.start();
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const values = [
    '',
    '0',
    '-1',
    '1.5',
    'NaN',
    '1e400',
    '99999999999999999999',
    'a',
    '%00',
    '%E0%A4%A',
    'ü',
    '../../etc',
    'x'.repeat(300),
  ];
  let requests = 0;
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline) {
    const batch = Array.from({ length: 20 }, async () => {
      if (random() < 0.15) {
        // Raw bytes on a socket: not even HTTP.
        await new Promise<void>((resolve) => {
          const s = connect(port, '127.0.0.1', () => s.end(randomBytes(random, Math.floor(random() * 300))));
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          s.setTimeout(500, () => s.destroy());
          s.resume();
        });
        return;
      }
      const path = pick(['/v1/peer/changes', '/v1/peer/hello', '/v1/peer/', '/', '/v1/peer/changes/x']);
      const q = new URLSearchParams();
      for (let i = 0, n = Math.floor(random() * 4); i < n; i++)
        q.append(pick(['origin', 'since', 'incarnation', 'x']), pick(values));
      const method = pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS']);
      try {
        const res = await request(`http://127.0.0.1:${port}${path}?${q.toString()}`, {
          method: method as 'GET',
          headers: random() < 0.3 ? { 'x-herald-auth': pick(values), 'content-type': pick(values) } : {},
          body: method === 'GET' ? undefined : randomBytes(random, 100),
        });
        assert.ok(res.statusCode >= 200 && res.statusCode < 500, `status ${res.statusCode}`);
        await res.body.dump();
      } catch (err) {
        assert.unreachable(`request failed: ${(err as Error).message}`);
      }
    });
    await Promise.all(batch);
    requests += batch.length;
  }
  assert.is(directory.digest(), digest, 'the directory did not change');
  const ok = await request(`http://127.0.0.1:${port}/v1/peer/changes?origin=a&since=0&incarnation=5`);
  assert.is(ok.statusCode, 200, `still serving after ${requests} fuzzed requests`);
  await ok.body.dump();
  await server.stop();
});

test('catch-up answer fuzz: the client accepts only valid answers, whatever a peer sends', async () => {
  const random = seededRandom(seed + 2);
  const valid = JSON.stringify({
    kind: 'deltas',
    origin: 'a',
    incarnation: 5,
    version: 3,
    deltas: [
      { version: 2, added: [device('a-2')], updated: [], removed: [] },
      { version: 3, added: [], updated: [device('a-2', { location: 'x' })], removed: ['a-1'] },
    ],
  });
  let answer: Buffer = Buffer.from(valid);
  const server = createServer((_req, res) => res.end(answer));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const client = new HttpPeerClient();
  let accepted = 0;
  let refused = 0;
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline) {
    answer = mutate(random, Buffer.from(valid));
    try {
      const changes = await client.changes(
        { address: '127.0.0.1', port },
        { origin: 'a', since: 1, incarnation: 5 },
        500,
      );
      accepted += 1;
      assert.ok(changes && changes.origin === 'a' && changes.version >= 1);
      if (changes.kind === 'deltas')
        changes.deltas.forEach((d, i) => i > 0 && assert.is(d.version, changes.deltas[i - 1].version + 1));
    } catch (err) {
      refused += 1;
      assert.instance(err, Error);
    }
  }
  assert.ok(refused > 0 && accepted + refused > 50, `${accepted} accepted, ${refused} refused`);
  await client.close();
  server.close();
});

/** One raw request on its own connection; the status code of the answer, or 0 when the server closed. */
function rawStatus(port: number, request: Buffer): Promise<number> {
  return new Promise((resolve) => {
    let out = '';
    const s = connect(port, '127.0.0.1', () => s.end(request));
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1] ?? 0)));
    s.setTimeout(2000, () => s.destroy());
  });
}

/** Request lines and headers, valid ones mutated byte-wise and hostile ones as they are. */
function fuzzedRequest(random: Random, targets: string[]): Buffer {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const target = pick([
    ...targets,
    '//a:99999/',
    'http://[',
    'http://x/v1/devices',
    '*',
    '/%',
    '/%ff%fe',
    '/v1/names/%C0%AF',
    '/' + 'a'.repeat(3000),
    '/v1/devices?kind=%',
    '/?' + '&'.repeat(500),
  ]);
  const headers = [
    pick(['Host: 127.0.0.1', 'Host: localhost:1', 'Host: evil.example', 'Host:', 'Host: [::1', 'host: a\tb']),
    ...Array.from({ length: Math.floor(random() * 4) }, () =>
      pick([
        'x-herald-auth: k=1,t=1,s=' + 'f'.repeat(64),
        'Authorization: Bearer x',
        'Last-Event-ID: 99999999999999999999',
        'Content-Length: -1',
        'Transfer-Encoding: chunked',
        'Connection: upgrade',
        'X: ' + 'y'.repeat(9000),
        'Bad Header: x',
      ]),
    ),
  ];
  const head = `${pick(['GET', 'GET', 'HEAD', 'POST', 'BREW', ''])} ${target} ${pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/9'])}\r\n${headers.join('\r\n')}\r\n\r\n`;
  return random() < 0.5 ? Buffer.from(head, 'latin1') : mutate(random, Buffer.from(head, 'latin1'));
}

test('HTTP fuzz: hostile targets and headers to the API and the peer endpoint: never a crash or a 500', async () => {
  const random = seededRandom(seed + 3);
  const clock = systemClock();
  const directory = new Directory({ clock }, { site: 's' });
  directory.ensureOrigin('a', { local: true });
  directory.applyDeltas('a', 5, [{ version: 1, added: [device('a-1')], updated: [], removed: [] }]);
  const metrics = createHeraldMetrics();
  const api = new ApiServer(
    {
      directory,
      journal: new EventJournal('fuzz'),
      metrics,
      clock,
      logger: createLogger({ level: 'silent' }),
      readiness: () => ({ ready: true, checks: {} }),
      authorize: loopbackHostAuthorizer(),
    },
    { host: '127.0.0.1', port: 0 },
  );
  const peerFaults: string[] = [];
  const peer = new PeerHttpServer(
    new DirectoryPeerService({ directory, identity: helloOf({ name: 'a', site: 's', incarnation: 5 }, () => 1) }),
    { host: '127.0.0.1', port: 0 },
    { clock, ratePerSecond: 1e6, burst: 1e6, onRejected: (reason) => reason === 'internal' && peerFaults.push(reason) },
  );
  const ports = { api: (await api.start()).port, peer: (await peer.start()).port };
  const targets = {
    api: ['/v1/devices?kind=property', '/v1/devices/a/a-1', '/v1/names/x/y', '/v1/agents', '/livez', '/metrics'],
    peer: ['/v1/peer/hello', '/v1/peer/changes?origin=a&since=0&incarnation=5'],
  };
  const statuses = new Map<number, number>();
  const deadline = Date.now() + SECONDS * 1000;
  try {
    while (Date.now() < deadline) {
      await Promise.all(
        (['api', 'peer'] as const).flatMap((server) =>
          Array.from({ length: 5 }, async () => {
            const status = await rawStatus(ports[server], fuzzedRequest(random, targets[server]));
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }),
        ),
      );
    }
    const summary = JSON.stringify([...statuses].sort((x, y) => x[0] - y[0]));
    console.log(`  HTTP fuzz, [status, count]: ${summary}`);
    assert.not.ok(
      [...statuses.keys()].some((s) => s >= 500),
      `no 5xx answer: ${summary}`,
    );
    assert.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, `refusals and answers: ${summary}`);
    assert.equal(peerFaults, [], 'no peer handler failed');
    assert.not.match(metrics.registry.render(), /^herald_bugs_total/m, 'no API handler failed');
    const ok = await rawStatus(ports.api, Buffer.from('GET /livez HTTP/1.0\r\nHost: localhost\r\n\r\n'));
    assert.is(ok, 200, 'the API still answers');
  } finally {
    await api.stop();
    await peer.stop();
  }
});

test.run();
