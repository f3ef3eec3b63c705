import './helpers/no-unhandled.js';
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRequestTarget, RequestTargetError } from '../src/http/request-target.js';
import { PEER_BOUNDS, PeerHttpServer } from '../src/http/peer-server.js';
import { isLoopbackAddress, isLoopbackHost, isLoopbackSource, resolveBindAddress } from '../src/security/loopback.js';
import { systemClock } from '../src/util/clock.js';

/** Raw bytes on a socket, as an attacker sends them; resolves with the status line of the answer. */
export function rawRequest(port: number, text: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const socket = connect(port, host, () => socket.write(text));
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(out.split('\r\n')[0]));
    socket.setTimeout(3000, () => socket.destroy());
  });
}

const HOSTILE = ['//a:99999/', 'http://[', 'http://x/v1/peer/hello', '/v1/peer/hello?x=%E0%A4%A', '/%zz', '/a\\b'];

test('request targets: only origin-form, well-formed ones parse; each refusal names its reason', () => {
  const t = parseRequestTarget('/v1/devices?kind=property&tag=a%20b&name=x+y');
  assert.is(t.pathname, '/v1/devices');
  assert.equal(
    [...t.searchParams],
    [
      ['kind', 'property'],
      ['tag', 'a b'],
      ['name', 'x y'],
    ],
  );
  const reasons = [...HOSTILE, '/' + 'a'.repeat(3000)].map((target) => {
    try {
      parseRequestTarget(target);
      return 'parsed';
    } catch (err) {
      assert.instance(err, RequestTargetError);
      return (err as RequestTargetError).reason;
    }
  });
  assert.equal(reasons, [
    'not-origin-form',
    'not-origin-form',
    'not-origin-form',
    'bad-percent-encoding',
    'bad-percent-encoding',
    'bad-character',
    'too-long',
  ]);
});

test('peer server: hostile targets get a 400 and are counted; the server still answers after them', async () => {
  const refused: string[] = [];
  const server = new PeerHttpServer(
    { handle: () => ({ status: 200, body: { ok: true } }) },
    { host: '127.0.0.1', port: 0 },
    { clock: systemClock(), onRejected: (reason) => refused.push(reason) },
  );
  const { port } = await server.start();
  try {
    for (const target of HOSTILE)
      assert.match(await rawRequest(port, `GET ${target} HTTP/1.0\r\n\r\n`), / 400 /, `GET ${target}`);
    assert.is(refused.length, HOSTILE.length, refused.join());
    assert.match(await rawRequest(port, 'GET /v1/peer/hello HTTP/1.0\r\n\r\n'), / 200 /);
  } finally {
    await server.stop();
  }
});

test('peer server bounds: past the per-source cap a connection is closed at once; an idle one soon after', async () => {
  const refused: string[] = [];
  const server = new PeerHttpServer(
    { handle: () => ({ status: 200, body: {} }) },
    { host: '127.0.0.1', port: 0 },
    {
      clock: systemClock(),
      // From 127.0.0.1, which the peer endpoint exempts from the per-source cap unless told otherwise.
      bounds: {
        ...PEER_BOUNDS,
        maxConnectionsPerSource: 2,
        loopbackExempt: false,
        idleTimeoutMs: 300,
        headersTimeoutMs: 2000,
      },
      onRejected: (reason) => refused.push(reason),
    },
  );
  const { port } = await server.start();
  const open = () =>
    new Promise<{ closedAfterMs: Promise<number> }>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.resume();
      socket.on('error', () => undefined);
      const t0 = Date.now();
      const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
      socket.once('connect', () => resolve({ closedAfterMs: closed }));
    });
  try {
    const sockets = [await open(), await open(), await open()];
    const lives = await Promise.all(sockets.map((s) => s.closedAfterMs));
    assert.ok(lives[2] < 200, `the third connection was closed at once (${lives[2]} ms)`);
    for (const life of lives.slice(0, 2)) assert.ok(life >= 250 && life < 2000, `idle closed after ${life} ms`);
    assert.equal(refused.sort(), ['connections-per-source', 'idle', 'idle']);
  } finally {
    await server.stop();
  }
});

test('loopback is decided by address, and a loopback API answers loopback Host names only', async () => {
  const verdicts = ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1', '10.0.0.1', '127.herald-test', '::'].map(
    isLoopbackAddress,
  );
  assert.equal(verdicts, [true, true, true, true, false, false, false]);
  // A datagram's source, as the kernel writes it: the same verdicts on every IP literal.
  const sources = ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1', '10.0.0.1', '::', '::ffff:10.1.2.3', 'fe80::1'];
  for (const source of sources) assert.is(isLoopbackSource(source), isLoopbackAddress(source), source);
  assert.equal(await resolveBindAddress('127.0.0.1'), { address: '127.0.0.1', loopback: true });
  for (const host of ['localhost', 'localhost:7755', 'app.localhost', '127.0.0.1:1', '[::1]:7755'])
    assert.ok(isLoopbackHost(host), `Host ${host}`);
  for (const host of ['evil.example', '127.0.0.1.evil.example', 'localhost.evil', '10.0.0.1:7755', ''])
    assert.not.ok(isLoopbackHost(host), `Host ${host}`);
});

test.run();
