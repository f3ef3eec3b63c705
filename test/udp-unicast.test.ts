import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatagramKind, Endpoint } from '../src/transport/transport.js';
import { UdpMulticastTransport } from '../src/transport/udp-multicast.js';
import { testGroupPort } from './helpers/process.js';
import { until } from './helpers/until.js';

/** What one agent's transport received: payload text, sender and how it came. */
interface Heard {
  text: string;
  from: Endpoint;
  kind: DatagramKind;
}

async function agentOnLoopback(port: number): Promise<{ udp: UdpMulticastTransport; heard: Heard[] }> {
  const udp = new UdpMulticastTransport({ group: '239.255.70.70', port, interfaceAddress: '127.0.0.1' });
  const heard: Heard[] = [];
  await udp.start((data, from, kind) =>
    heard.push({ text: Buffer.from(data).toString(), from: { address: from.address, port: from.port }, kind }),
  );
  return { udp, heard };
}

/*
 * Two agents on one host share the group port, as every agent of a site on loopback does. A unicast
 * answer to the source of a multicast datagram must reach its sender and no one else: a socket on the
 * shared port could not promise that (the kernel gives a unicast datagram to one socket of the port).
 */
test('a unicast to the source of a multicast datagram reaches that agent alone, on loopback', async () => {
  const port = testGroupPort();
  const a = await agentOnLoopback(port);
  const b = await agentOnLoopback(port);
  try {
    a.udp.send(new TextEncoder().encode('hello from a'));
    await until(() => b.heard.some((h) => h.text === 'hello from a'), 2000, 'b hears a’s multicast');
    const fromA = b.heard.find((h) => h.text === 'hello from a')!;
    assert.is(fromA.kind, 'multicast');
    assert.equal(fromA.from, a.udp.localEndpoint(), 'the source is the sender’s own datagram endpoint');
    assert.is.not(fromA.from.port, port, 'not the shared group port');

    b.udp.sendTo(new TextEncoder().encode('just for a'), fromA.from);
    await until(() => a.heard.some((h) => h.text === 'just for a'), 2000, 'a hears b’s unicast');
    const got = a.heard.find((h) => h.text === 'just for a')!;
    assert.is(got.kind, 'unicast');
    assert.equal(got.from, b.udp.localEndpoint());
    // Give a stray copy time to arrive before saying b did not hear its own unicast.
    await new Promise((r) => setTimeout(r, 100));
    assert.not.ok(
      b.heard.some((h) => h.text === 'just for a'),
      'the other agent on the host does not get it',
    );
  } finally {
    await a.udp.stop();
    await b.udp.stop();
  }
});

test.run();
