import { createServer, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SYNC_LIMITS } from '../../src/sync/config.js';
import { fetchChanges } from '../../src/sync/changes-fetch.js';
import type { OriginReplica } from '../../src/sync/origin-replica.js';
import type { SyncContext } from '../../src/sync/sync-context.js';
import { ACCEPT_QUEUE_ALLOWANCE, HttpPeerClient } from '../../src/transport/http-peer-client.js';
import { systemClock } from '../../src/util/clock.js';
import { device } from '../helpers/sim.js';

/**
 * A hostile member serves its own catch-up as a paged snapshot (up to SYNC_LIMITS.snapshotPages, 64 pages), each
 * page on a fresh connection (it closes every one) and each answered just inside ACCEPT_QUEUE_ALLOWANCE (4x) the
 * deadline. The allowance is for the wait in a busy peer's accept queue before its first answer; a later page
 * follows an answer from that peer moments ago (on the pooled connection, normally). Given to every page, it
 * let one member hold one of an honest agent's 8 fetch slots for 64 x 8 s = 8.5 minutes at the default 2 s
 * deadline (64 x 2 s before cold10): 8 such names, and every catch-up of an honest origin's missed change
 * waits behind them. Real sockets on 127.0.0.1, the agent's own fetch, a 50 ms deadline.
 */

const FETCH_MS = 50;
const ANSWER_AFTER_MS = Math.round(FETCH_MS * ACCEPT_QUEUE_ALLOWANCE * 0.75); // 150 ms: inside the allowance

function page(): string {
  const body = JSON.stringify({
    kind: 'snapshot',
    origin: 'agent-1',
    incarnation: 1,
    version: 1,
    entries: [{ version: 1, device: device('d-1') }],
    next: 'd-1',
  });
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

test('a member paging its snapshot slowly holds a catch-up for one allowance, then one deadline a page', async () => {
  const sockets = new Set<Socket>();
  let served = 0;
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('data', () => {
      const timer = setTimeout(() => {
        served += 1;
        s.end(page());
      }, ANSWER_AFTER_MS);
      s.on('close', () => clearTimeout(timer));
    });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const clock = systemClock();
  const peers = new HttpPeerClient();
  const s = { cfg: { fetchTimeoutMs: FETCH_MS }, c: { clock, peers } } as unknown as SyncContext;
  const r = { name: 'agent-1', held: () => ({ version: 0, incarnation: 1 }) } as unknown as OriginReplica;
  try {
    const source = { address: '127.0.0.1', port: (server.address() as { port: number }).port };
    const started = performance.now();
    const outcome = await fetchChanges(s, source, r, { deadline: (ms) => ms, lagged: () => false }).then(
      () => 'answered',
      (e: unknown) => String(e),
    );
    const ms = performance.now() - started;
    // One allowance, then a deadline for each later page: what a member answering at once would cost, and more.
    const bound = FETCH_MS * ACCEPT_QUEUE_ALLOWANCE + (SYNC_LIMITS.snapshotPages - 1) * FETCH_MS;
    assert.ok(
      ms < bound,
      `the slot was held ${ms.toFixed(0)} ms (${served} pages served, ${outcome}); at most ${bound}`,
    );
  } finally {
    await peers.close();
    for (const sock of sockets) sock.destroy();
    await new Promise((res) => server.close(res));
  }
});

test.run();
