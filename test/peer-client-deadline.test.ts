import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LocalHealth } from '../src/sync/local-health.js';
import { HttpPeerClient } from '../src/transport/http-peer-client.js';
import { FakeClock } from '../src/util/clock.js';

/**
 * A catch-up's deadline is lengthened by the loop's late turns, measured in fractional milliseconds. Node's
 * AbortSignal.timeout takes integers only: every such catch-up threw a RangeError before a byte was sent
 * (206k of them in one 200-agent cold start on real sockets), failed at once and was retried. The simulator's
 * fake clock took the fraction, so only real sockets showed it.
 */
test('a fractional deadline is a deadline, not a RangeError, on real sockets', async () => {
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new HttpPeerClient();
  try {
    const { port } = server.address() as AddressInfo;
    const held = await client.changes(
      { address: '127.0.0.1', port },
      { origin: 'agent-1', since: 0, incarnation: 0 },
      2000.37,
    );
    assert.is(held, undefined, 'the peer holds nothing of agent-1 (404), and the client says so');
  } finally {
    await client.close();
    server.close();
  }
});

test("a late loop's catch-up deadline is whole milliseconds", async () => {
  const clock = new FakeClock();
  const health = new LocalHealth(clock, 1000);
  await clock.advance(1600.567);
  health.timerFired(1000.25);
  const deadline = health.turnsDeadline(2000);
  assert.ok(Number.isInteger(deadline), `deadline ${deadline}`);
  assert.ok(deadline > 2000, `lengthened by the late turn (${deadline})`);
});

test.run();
