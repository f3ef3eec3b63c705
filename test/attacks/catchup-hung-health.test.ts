import { createServer, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchChanges } from '../../src/sync/changes-fetch.js';
import { LocalHealth } from '../../src/sync/local-health.js';
import type { OriginReplica } from '../../src/sync/origin-replica.js';
import type { SyncContext } from '../../src/sync/sync-context.js';
import { HttpPeerClient, PeerRequestError } from '../../src/transport/http-peer-client.js';
import { systemClock } from '../../src/util/clock.js';

/**
 * A member that accepts a catch-up's connection and never answers (a hostile one, or a hung process: its
 * kernel still completes handshakes). Since cold10 the client waits 4x the deadline for that answer, but the
 * catch-up judged its own lateness against the deadline it asked for: the timer due at 4x fired "3x late", so
 * the agent took its timeout for a late loop of its own. It recorded a 3x-deadline lag (6 s at the default
 * 2 s: local health at its worst, every probe deadline stretched 8x and its own timeouts no evidence for 10
 * periods), and the catch-up was `lagged`, no failure: asked again at once, with no backoff, for as long as
 * the member keeps it up. Real sockets on 127.0.0.1, a real clock, the agent's own fetch and health.
 */

const PERIOD_MS = 1000;
const FETCH_MS = 300;

test("a member that accepts a catch-up and never answers is a failed catch-up, not a late loop of the agent's", async () => {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const clock = systemClock();
  const health = new LocalHealth(clock, PERIOD_MS);
  const peers = new HttpPeerClient();
  const s = { cfg: { fetchTimeoutMs: FETCH_MS }, c: { clock, peers } } as unknown as SyncContext;
  const r = { name: 'agent-1', held: () => ({ version: 0, incarnation: 1 }) } as unknown as OriginReplica;
  try {
    const source = { address: '127.0.0.1', port: (server.address() as { port: number }).port };
    const err = await fetchChanges(s, source, r, {
      deadline: (ms) => health.turnsDeadline(ms),
      lagged: (due, ms) => health.timedOut(due, ms),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, PeerRequestError, `a timeout of the member's, not ${String(err)}`);
    assert.is((err as PeerRequestError).reason, 'timeout');
    assert.is(health.score(), 0, 'the agent does not take its timeout for a late loop (its probes are not stretched)');
    assert.ok(health.trusted(), 'its own timeouts stay evidence');
  } finally {
    await peers.close();
    for (const sock of sockets) sock.destroy();
    await new Promise((res) => server.close(res));
  }
});

test.run();
