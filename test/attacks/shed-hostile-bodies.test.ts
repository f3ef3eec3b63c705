import '../helpers/no-unhandled.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_PEER_RESPONSE_BYTES } from '../../src/sync/peer-protocol.js';
import { HttpPeerClient } from '../../src/transport/http-peer-client.js';
import { PeerRequestError } from '../../src/transport/transport.js';

/**
 * s20-attack: what a 503 on a catch-up may carry, from a forging member or an older or foreign server (loopback
 * only). The asker reads it as a shed naming at most 3 well-formed holders, or as a failed request; never more.
 */
const holder = (port: unknown) => ({ address: '127.0.0.1', port, version: 2 });
const BODIES: [string, string, string, number][] = [
  ['not JSON', 'text/plain', '<html>busy</html>', -1],
  ['no body (an older server)', 'application/json', '', -1],
  ['a problem without holders', 'application/json', JSON.stringify({ title: 'Shed', status: 503 }), 0],
  [
    '1,000 names',
    'application/json',
    JSON.stringify({ holders: Array.from({ length: 1000 }, (_, i) => holder(1 + i)) }),
    3,
  ],
  [
    'bad ports first',
    'application/json',
    JSON.stringify({ holders: [holder(0), holder(70000), holder('80'), holder(9)] }),
    0,
  ],
  [
    'bad addresses',
    'application/json',
    JSON.stringify({ holders: [{ address: 'evil.example', port: 1, version: 1 }] }),
    0,
  ],
  ['past the size bound', 'application/json', `{"holders":[],"pad":"${'x'.repeat(MAX_PEER_RESPONSE_BYTES)}"}`, -1],
];

test('a 503 of any body: a shed of at most 3 checked holders, or a failed request', async () => {
  let body = '';
  let type = '';
  const server: Server = createServer((_req, res) => {
    res.writeHead(503, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const peer = { address: '127.0.0.1', port: (server.address() as AddressInfo).port };
  const client = new HttpPeerClient();
  try {
    for (const [what, t, b, named] of BODIES) {
      [type, body] = [t, b];
      const err = await client
        .changes(peer, { origin: 'b', since: 0, incarnation: 3, port: 1 }, 3000)
        .catch((e: unknown) => e);
      assert.instance(err, PeerRequestError, what);
      const e = err as PeerRequestError;
      console.log(`  ${what}: ${e.reason}, ${e.holders.length} named`);
      if (named < 0) assert.is.not(e.reason, 'shed', what);
      else assert.equal([e.reason, e.holders.length], ['shed', named], what);
    }
  } finally {
    await client.close();
    server.close();
  }
});

test.run();
