import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ACCEPT_QUEUE_ALLOWANCE, HttpPeerClient, PeerRequestError } from '../../src/transport/http-peer-client.js';
import type { Endpoint } from '../../src/transport/transport.js';

/**
 * A hostile open-site member holds an honest agent's catch-up slots (8 of them) as long as the agent waits for
 * it. Since cold10 a catch-up on a fresh connection waits ACCEPT_QUEUE_ALLOWANCE (4) times its deadline for the
 * answer (8 s at the default 2 s), and docs/protocol.md says that is the cost: "up to 8 s instead of 2 s on a
 * hung peer", the body "cut off as before" once the head came. But the head re-armed a whole deadline for the
 * body: a member that sends its head just inside the allowance and then trickles held the slot 4x + 1x (10 s),
 * and on a pooled connection (no accept queue to wait out) head and body each had a deadline, 2x where it was 1x.
 * Real sockets on 127.0.0.1; short deadlines keep it quick.
 */

const ASK = { origin: 'agent-1', since: 0, incarnation: 0 };
const HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{';

/**
 * A member's peer port that answers its first `prompt` requests at once (404, keep-alive: the socket goes back
 * to the client's pool), then sends each later answer's head after `headAfterMs` and one body byte every 50 ms.
 */
async function trickler(
  prompt: number,
  headAfterMs: number,
): Promise<{ server: Server; peer: Endpoint; sockets: Set<Socket>; connections: () => number }> {
  const sockets = new Set<Socket>();
  let requests = 0;
  let connections = 0;
  const server = createServer((s) => {
    connections += 1;
    sockets.add(s);
    s.on('error', () => undefined);
    const timers: NodeJS.Timeout[] = [];
    s.on('data', (chunk) => {
      if (!chunk.toString('latin1').includes('\r\n\r\n')) return;
      if (++requests <= prompt) return void s.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      timers.push(
        setTimeout(() => {
          s.write(HEAD);
          timers.push(setInterval(() => s.write(' '), 50));
        }, headAfterMs),
      );
    });
    s.on('close', () => {
      for (const t of timers) clearInterval(t);
      sockets.delete(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const peer = { address: '127.0.0.1', port: (server.address() as { port: number }).port };
  return { server, peer, sockets, connections: () => connections };
}

/** How long the catch-up (after `prompt` prompt ones) held the caller before it gave up, and why. */
async function held(
  prompt: number,
  deadlineMs: number,
  headAfterMs: number,
): Promise<{ ms: number; err: unknown; connections: number }> {
  const { server, peer, sockets, connections } = await trickler(prompt, headAfterMs);
  const client = new HttpPeerClient();
  try {
    for (let i = 0; i < prompt; i++) assert.is(await client.changes(peer, ASK, deadlineMs), undefined);
    // The 404 is returned before its socket is back in the pool: a turn later it is, and is reused.
    if (prompt > 0) await new Promise((r) => setTimeout(r, 20));
    const started = performance.now();
    const err = await client.changes(peer, ASK, deadlineMs).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { ms: performance.now() - started, err, connections: connections() };
  } finally {
    await client.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
}

function assertTimeout(outcome: { ms: number; err: unknown }): void {
  assert.instance(outcome.err, PeerRequestError);
  assert.is((outcome.err as PeerRequestError).reason, 'timeout');
}

test('a member whose head comes just inside the allowance, then trickles, holds the slot no longer than the allowance', async () => {
  const deadline = 400;
  const allowance = deadline * ACCEPT_QUEUE_ALLOWANCE; // 1,600 ms: on main it held 1,500 + 400
  const outcome = await held(0, deadline, allowance - 100);
  assertTimeout(outcome);
  assert.ok(outcome.ms < allowance + 150, `given up on within ${allowance} ms (${outcome.ms.toFixed(0)} ms)`);
});

test('on a pooled connection a trickling member is cut off at the one deadline, as before cold10', async () => {
  const deadline = 400;
  const outcome = await held(1, deadline, deadline - 50); // on main: 350 + 400
  assert.is(outcome.connections, 1, 'the second catch-up went on the pooled connection');
  assertTimeout(outcome);
  assert.ok(outcome.ms < deadline + 150, `given up on within ${deadline} ms (${outcome.ms.toFixed(0)} ms)`);
});

test.run();
