import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatagramKind, Endpoint } from '../src/transport/transport.js';
import { createSocket } from 'node:dgram';
import { onLinkOf } from '../src/transport/on-link.js';
import { TransportStartError, UdpMulticastTransport } from '../src/transport/udp-multicast.js';
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

/**
 * The endpoint socket is bound to the interface address, so a routed datagram from anywhere would reach
 * it (the group socket never hears one: TTL 1, bound to the group). Here the link is 127.0.0.1/32, and
 * 127.0.0.2 stands for a sender off it.
 */
test('a unicast datagram from off the link is dropped unread and reported; one from the link is heard', async () => {
  const offLink: string[] = [];
  const udp = new UdpMulticastTransport({
    group: '239.255.70.70',
    port: testGroupPort(),
    interfaceAddress: '127.0.0.1',
    onLink: onLinkOf('127.0.0.1', '255.255.255.255'),
    onOffLink: (from) => offLink.push(from.address),
  });
  const heard: string[] = [];
  await udp.start((data) => heard.push(Buffer.from(data).toString()));
  const senders = ['127.0.0.2', '127.0.0.1'].map(() => createSocket('udp4'));
  try {
    const to = udp.localEndpoint()!;
    await new Promise<void>((r) => senders[0].bind(0, '127.0.0.2', r));
    await new Promise<void>((r) => senders[1].bind(0, '127.0.0.1', r));
    senders[0].send('from afar', to.port, to.address);
    await until(() => offLink.length === 1, 2000, 'the off-link datagram is reported');
    senders[1].send('from the link', to.port, to.address);
    await until(() => heard.includes('from the link'), 2000, 'the on-link datagram is heard');
    assert.equal(offLink, ['127.0.0.2']);
    assert.not.ok(heard.includes('from afar'), 'the off-link datagram is not handed on');
  } finally {
    senders.forEach((s) => s.close());
    await udp.stop();
  }
});

/*
 * Each agent's endpoint socket must be a port of its own. Bound with SO_REUSEADDR (as the group socket must be,
 * shared by every agent of the host), the kernel's choice of a free port for port 0 skipped only ports held
 * without it: about one agent in a 200-agent bench run got a port another agent already had, and every unicast
 * to it (its subjects' rounds on the ring, with their hints) went to the other agent. The ring's hints never
 * reached it, and a change whose announcement it missed waited for the origin's own heartbeat (issue 18, miss12).
 */
test('every agent on a host gets an endpoint port of its own; a port in use is refused, not shared', async () => {
  const port = testGroupPort();
  const started: UdpMulticastTransport[] = [];
  try {
    for (let i = 0; i < 250; i++) started.push((await agentOnLoopback(port)).udp);
    const ports = started.map((u) => u.localEndpoint()!.port);
    assert.is(new Set(ports).size, ports.length, 'endpoint ports shared by two agents');
    const taken = ports[0];
    const second = new UdpMulticastTransport({
      group: '239.255.70.70',
      port,
      interfaceAddress: '127.0.0.1',
      unicastPort: taken,
    });
    const refused = await second
      .start(() => {})
      .then(
        () => false,
        () => true,
      );
    if (!refused) await second.stop();
    assert.ok(refused, `a second agent bound endpoint port ${taken}, already the first one's`);
  } finally {
    await Promise.all(started.map((u) => u.stop()));
  }
});

/** Starts a transport expected to fail; the error it rejects with (a start that succeeds is stopped and fails). */
async function startFailure(init: ConstructorParameters<typeof UdpMulticastTransport>[0]): Promise<unknown> {
  const udp = new UdpMulticastTransport(init);
  const outcome = await udp
    .start(() => {})
    .then(
      () => undefined,
      (err: unknown) => err ?? 'rejected',
    );
  if (outcome === undefined) await udp.stop();
  assert.ok(outcome !== undefined, `started on ${JSON.stringify(init)}`);
  return outcome;
}

/*
 * attack12: the supervisor maps a start failure to its exit status by the system's code (EADDRINUSE: 69, the port
 * is taken) and prints advice by where it happened. A join that failed was wrapped in a plain Error "cannot join"
 * without the code: `herald agent` exited 70 ("a fault of Herald") with a stack trace; an endpoint that could not
 * bind said "cannot join" too. And a group port held by another program (bound without sharing) is refused
 * with EADDRINUSE at the group address, which the CLI answered with "another agent running? choose --api or
 * --peer-port": agents share the group port, and --group is what moves it.
 */
test('a transport that cannot start says which socket failed and keeps the system’s code', async () => {
  const port = testGroupPort();
  const blocker = createSocket({ type: 'udp4' }); // another program on the group's port, not sharing it
  await new Promise<void>((r) => blocker.bind(port, '0.0.0.0', r));
  try {
    const err = await startFailure({ group: '239.255.70.70', port, interfaceAddress: '127.0.0.1' });
    assert.instance(err, TransportStartError);
    assert.is((err as TransportStartError).step, 'group-port');
    assert.is((err as TransportStartError).code, 'EADDRINUSE');
    assert.match((err as Error).message, `group port 239.255.70.70:${port}`);
  } finally {
    blocker.close();
  }
  // 10.255.255.1 is no address of this host (tests use loopback and 10.x namespaces, never that one).
  const join = await startFailure({ group: '239.255.70.70', port, interfaceAddress: '10.255.255.1' });
  assert.instance(join, TransportStartError);
  assert.is((join as TransportStartError).step, 'join');
  assert.ok((join as TransportStartError).code, `a system code: ${String(join)}`);

  const holder = createSocket({ type: 'udp4' });
  await new Promise<void>((r) => holder.bind(0, '127.0.0.1', r));
  try {
    const taken = holder.address().port;
    const endpoint = await startFailure({
      group: '239.255.70.70',
      port,
      interfaceAddress: '127.0.0.1',
      unicastPort: taken,
    });
    assert.instance(endpoint, TransportStartError);
    assert.is((endpoint as TransportStartError).step, 'endpoint');
    assert.is((endpoint as TransportStartError).code, 'EADDRINUSE');
    assert.match((endpoint as Error).message, `endpoint 127.0.0.1:${taken}`);
  } finally {
    holder.close();
  }
});

test.run();
