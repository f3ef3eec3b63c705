import { createServer, type Server } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HttpPeerClient } from '../../src/transport/http-peer-client.js';
import { PeerRequestError } from '../../src/transport/transport.js';

/**
 * A refused connection is the one typed reason that loses a peer at once (its process is gone), and with
 * a key a monitor's loss becomes a believed notice everywhere. A connection that was accepted and then
 * reset is no such proof: something listens there. The peer port itself closes connections past its caps
 * (16 per source address, 512 in all) at once, so an attacker holding those slots, or a busy peer, made
 * every probe of a live agent "refused".
 */
async function reasonOf(port: number): Promise<string> {
  const client = new HttpPeerClient();
  try {
    await client.hello({ address: '127.0.0.1', port }, 1000);
    return 'answered';
  } catch (err) {
    return err instanceof PeerRequestError ? err.reason : `untyped: ${String(err)}`;
  } finally {
    await client.close();
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

test('a connection accepted and reset at once is not a refusal; a closed port is', async () => {
  const server = createServer((socket) => socket.resetAndDestroy());
  const port = await listen(server);
  try {
    assert.is.not(await reasonOf(port), 'refused', 'reset after accept');
    const closed = createServer((socket) => socket.destroy());
    const closedPort = await listen(closed);
    try {
      assert.is.not(await reasonOf(closedPort), 'refused', 'closed after accept');
    } finally {
      await new Promise((resolve) => closed.close(resolve));
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assert.is(await reasonOf(port), 'refused', 'nothing listens any more');
});

test.run();
