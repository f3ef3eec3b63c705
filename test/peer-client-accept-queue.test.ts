import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HttpPeerClient, PeerRequestError } from '../src/transport/http-peer-client.js';
import type { Endpoint } from '../src/transport/transport.js';

/**
 * A peer's listener accepts one connection per event-loop turn (libuv >= 1.45), so a connection to a busy
 * peer waits in its accept queue, established on the client's side, until the peer's loop comes round. In
 * the 200-agent cold start on real sockets 65 % of the requests the agents served had been made over 2 s
 * earlier: their 2 s deadline had given up on them, the peer served them anyway, and the retry queued
 * again. The peer here is a real process whose loop is busy for a while (as a peer under a burst is).
 */

/** An HTTP server in its own process answering 404 to everything; "stall <ms>" on stdin blocks its loop. */
const PEER = `
const http = require('node:http');
const server = http.createServer((req, res) => { res.statusCode = 404; res.end(); });
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
process.stdin.on('data', (line) => {
  const ms = Number(String(line).split(' ')[1]);
  process.stdout.write('stalling\\n');
  const until = Date.now() + ms;
  while (Date.now() < until);
});
`;

interface BusyPeer {
  endpoint: Endpoint;
  /** Blocks the peer's loop for `ms`; resolves once it has begun. */
  stall(ms: number): Promise<void>;
  stop(): void;
}

async function busyPeer(): Promise<BusyPeer> {
  const proc: ChildProcess = spawn(process.execPath, ['-e', PEER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  proc.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const line = async (prefix: string) => {
    while (!lines.some((l) => l.startsWith(prefix))) await once(proc.stdout!, 'data');
    return lines.splice(
      lines.findIndex((l) => l.startsWith(prefix)),
      1,
    )[0];
  };
  const port = Number((await line('port ')).split(' ')[1]);
  return {
    endpoint: { address: '127.0.0.1', port },
    async stall(ms) {
      proc.stdin!.write(`stall ${ms}\n`);
      await line('stalling');
    },
    stop: () => proc.kill('SIGKILL'),
  };
}

const ASK = { origin: 'agent-1', since: 0, incarnation: 0 };

/** Asks a fresh peer process while its loop is busy for `stallMs`: the outcome, and how long it took. */
async function askStalled<T>(
  stallMs: number,
  ask: (client: HttpPeerClient, peer: Endpoint) => Promise<T>,
): Promise<{ ms: number; value?: T; err?: unknown }> {
  const peer = await busyPeer();
  const client = new HttpPeerClient();
  try {
    await peer.stall(stallMs);
    const started = performance.now();
    try {
      const value = await ask(client, peer.endpoint);
      return { ms: performance.now() - started, value };
    } catch (err) {
      return { ms: performance.now() - started, err };
    }
  } finally {
    await client.close();
    peer.stop();
  }
}

function assertTimeout(outcome: { ms: number; err?: unknown }, withinMs: number): void {
  assert.instance(outcome.err, PeerRequestError);
  assert.is((outcome.err as PeerRequestError).reason, 'timeout');
  assert.ok(outcome.ms < withinMs, `given up on within ${withinMs} ms (${outcome.ms.toFixed(0)} ms)`);
}

test("a catch-up held in a busy peer's accept queue past its deadline is answered, not given up on", async () => {
  const asked = await askStalled(1500, (client, peer) => client.changes(peer, ASK, 600));
  assert.is(asked.err, undefined, `the busy peer's answer was waited for (${String(asked.err)})`);
  assert.is(asked.value, undefined, 'the peer holds nothing of agent-1 (404), and the client says so');
  assert.ok(asked.ms > 1000, `answered after the stall (${asked.ms.toFixed(0)} ms)`);
});

test('a catch-up to a peer that stays hung is still given up on, after the allowance', async () => {
  assertTimeout(await askStalled(4000, (client, peer) => client.changes(peer, ASK, 300)), 2500);
});

test('a probe keeps its one deadline: a hung peer is evidence for liveness', async () => {
  assertTimeout(await askStalled(2000, (client, peer) => client.hello(peer, 500)), 1200);
});

test.run();
