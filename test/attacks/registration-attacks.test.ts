/**
 * Attacks on run-time registration and health checks: hostile check targets, cross-site writes from a
 * browser on the host, and a damaged state file.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netProbes } from '../../src/health/probes.js';
import { ApiSocket } from '../../src/registration/api-socket.js';
import { FileRegistrationStore, type RegistrationStore } from '../../src/registration/store.js';
import { device, SimSite } from '../helpers/sim.js';

/** One agent with its API and a state folder; `run` gets the API's base URL. */
async function withAgent(
  run: (base: string, site: SimSite, stateDir: string) => Promise<void>,
  opts: { before?: (stateDir: string) => Promise<void>; store?: RegistrationStore } = {},
): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'herald-reg-attack-'));
  const site = new SimSite(19);
  try {
    await opts.before?.(stateDir);
    const me = await site.start('alpha', [device('from-file')], {
      api: true,
      index: 1,
      components: { registrations: opts.store ?? new FileRegistrationStore(stateDir) },
    });
    await run(`http://127.0.0.1:${me.agent.apiEndpoint!.port}`, site, stateDir);
  } finally {
    await site.stopAll();
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(base + path, {
    method: method as 'GET',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

const reg = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: `Registered ${id}`,
  capabilities: [{ id: 'value', kind: 'property', endpoint: 'http://{address}:9000/' + id }],
  ...extra,
});

/** A TCP server that writes `chunk` every 100 ms to whoever connects, forever. */
async function trickler(first: string, chunk: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.write(first);
    const t = setInterval(() => s.write(chunk), 100);
    s.on('close', () => {
      clearInterval(t);
      sockets.delete(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

test('an http check against a server that keeps its answer trickling ends at its timeout', async () => {
  // Interim 102 answers, and a header line every 100 ms: each keeps the socket busy, so an idle timeout never fires.
  const servers = [
    await trickler('', 'HTTP/1.1 102 Processing\r\n\r\n'),
    await trickler('HTTP/1.1 200 OK\r\n', 'X-Slow: 1\r\n'),
  ];
  try {
    for (const { port } of servers) {
      const started = Date.now();
      const guard = new Promise<string>((r) => setTimeout(() => r('still running after 3 s'), 3000).unref());
      const result = await Promise.race([netProbes.http(`http://127.0.0.1:${port}/`, 400), guard]);
      assert.type(result, 'object', `the probe ends (${JSON.stringify(result)})`);
      assert.is((result as { status: string }).status, 'critical');
      assert.match((result as { output: string }).output, /ETIMEDOUT/);
      assert.ok(Date.now() - started < 1500, `ends near its 400 ms timeout (${Date.now() - started} ms)`);
    }
  } finally {
    for (const { server, sockets } of servers) {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }
});

test('a web page in a browser on the host cannot renew or report health with a simple cross-site POST', async () => {
  await withAgent(async (base) => {
    const put = await call(
      base,
      'PUT',
      '/v1/local/devices/cam',
      reg('cam', { ttl: 5, checks: [{ id: 'hb', type: 'ttl' }] }),
    );
    assert.is(put.status, 200, JSON.stringify(put.body));
    const ok = await call(base, 'POST', '/v1/local/devices/cam/health', { status: 'pass' });
    assert.is(ok.status, 200, 'a local program may POST (no Origin)');
    const before = (await call(base, 'GET', '/v1/local/devices/cam')).body.expiresAt;
    // What fetch(url, {method: 'POST', mode: 'no-cors', body: '...'}) from any site sends: no preflight,
    // a text/plain body, the page's Origin, and the loopback Host the page addressed.
    const page = { origin: 'https://evil.example', 'content-type': 'text/plain;charset=UTF-8' };
    const renew = await call(base, 'POST', '/v1/local/devices/cam/renew', '', page);
    assert.is(renew.status, 403, JSON.stringify(renew.body));
    assert.match(String(renew.body.detail), /Origin/);
    const report = await call(base, 'POST', '/v1/local/devices/cam/health', '{"status":"fail","note":"x"}', page);
    assert.is(report.status, 403, JSON.stringify(report.body));
    const after = (await call(base, 'GET', '/v1/local/devices/cam')).body;
    assert.is(after.expiresAt, before, 'the lease was not pushed out');
    assert.is((after.health as { status: string }).status, 'passing', 'the health was not changed');
  });
});

test('a damaged registrations.json is kept aside, not overwritten by the next persistent registration', async () => {
  // A crash cannot tear the file (it is replaced atomically), but a full disk, an editor or an older or
  // newer agent can leave one that does not parse, or entries this version refuses.
  const cases = [
    '{"format": 1, "registrations": [{"document": {"id": "cam", "name": "Cam", "capabilities": [',
    JSON.stringify({ format: 1, registrations: [{ document: { ...reg('future'), id: 'future', colour: 'red' } }] }),
  ];
  for (const damaged of cases)
    await withAgent(
      async (base, _site, stateDir) => {
        const put = await call(base, 'PUT', '/v1/local/devices/new-one', reg('new-one', { persist: true }));
        assert.is(put.status, 200, JSON.stringify(put.body));
        const texts = await Promise.all(
          (await readdir(stateDir)).map((f) => readFile(join(stateDir, f), 'utf8').catch(() => '')),
        );
        assert.ok(
          texts.includes(damaged),
          `the damaged file is still in the state folder: ${(await readdir(stateDir)).join(', ')}`,
        );
      },
      { before: (stateDir) => writeFile(join(stateDir, 'registrations.json'), damaged) },
    );
});

test('after one failed save, writes that keep nothing on disk are not answered "not saved"', async () => {
  let diskFull = true;
  const store: RegistrationStore = {
    description: 'a disk that fills up once',
    load: () => Promise.resolve({ registrations: [], errors: [] }),
    save: () => (diskFull ? Promise.reject(Object.assign(new Error('full'), { code: 'ENOSPC' })) : Promise.resolve()),
  };
  await withAgent(
    async (base) => {
      const kept = await call(base, 'PUT', '/v1/local/devices/kept', reg('kept', { persist: true }));
      assert.is(kept.status, 500, 'the persistent registration is told it was not saved');
      diskFull = false;
      const plain = await call(base, 'PUT', '/v1/local/devices/plain', reg('plain'));
      assert.is(plain.status, 200, `an ephemeral registration saves nothing: ${JSON.stringify(plain.body)}`);
      const gone = await call(base, 'DELETE', '/v1/local/devices/plain');
      assert.is(gone.status, 200, JSON.stringify(gone.body));
    },
    { store },
  );
});

test("a check's output, replicated to every host and MQTT, does not carry the URL's password or query", async () => {
  const server = createHttpServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const up = await netProbes.http(`http://monitor:pa55word@127.0.0.1:${port}/health?token=s3cret`, 1000);
    assert.is(up.status, 'passing');
    assert.is(up.output, `HTTP GET http://127.0.0.1:${port}/health: 200 OK`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  const down = await netProbes.http(`http://monitor:pa55word@127.0.0.1:${port}/health?token=s3cret`, 1000);
  assert.is(down.output, `HTTP GET http://127.0.0.1:${port}/health: ECONNREFUSED`);
});

test('--api-socket replaces only a stale socket: not a file, not a socket another agent serves', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-sock-attack-'));
  const answer = (req: IncomingMessage, res: ServerResponse) => res.end(req.url);
  const first = new ApiSocket(join(dir, 'api.sock'), answer);
  try {
    // A typo'd path naming a file: the agent must not delete it.
    await writeFile(join(dir, 'registrations.json'), 'precious');
    const onFile = await startRefused(new ApiSocket(join(dir, 'registrations.json'), answer));
    assert.match(String(onFile?.message), /not a socket/);
    assert.is(await readFile(join(dir, 'registrations.json'), 'utf8'), 'precious');
    // A second agent on the same path must not take the first one's socket away.
    await first.start();
    const second = await startRefused(new ApiSocket(join(dir, 'api.sock'), answer));
    assert.is(second?.code, 'EADDRINUSE', String(second));
    assert.is(await socketGet(join(dir, 'api.sock')), '/still-first', 'the first agent still answers there');
    await first.stop();
    // A socket left by a crash (bound, never unlinked) is replaced.
    execFileSync('python3', [
      '-c',
      `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(dir, 'stale.sock'))})`,
    ]);
    const after = new ApiSocket(join(dir, 'stale.sock'), answer);
    await after.start();
    assert.is(await socketGet(join(dir, 'stale.sock')), '/still-first');
    await after.stop();
  } finally {
    await first.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

/** The error a socket's start fails with; a socket that starts is stopped again (and undefined returned). */
async function startRefused(socket: ApiSocket): Promise<NodeJS.ErrnoException | undefined> {
  try {
    await socket.start();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  await socket.stop();
  return undefined;
}

function socketGet(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path: '/still-first' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test.run();
