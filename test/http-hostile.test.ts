import './helpers/no-unhandled.js';
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRequestTarget, RequestTargetError } from '../src/http/request-target.js';
import { PeerHttpServer } from '../src/http/peer-server.js';
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

test.run();
