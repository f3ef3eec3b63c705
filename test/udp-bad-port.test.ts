import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UdpMulticastTransport } from '../src/transport/udp-multicast.js';
import { testGroupPort } from './helpers/process.js';

/*
 * A unicast goes where a datagram came from (an echo, a monitor's round): a forged source may name port 0, which
 * Node's dgram refuses with a synchronous throw. A send must report it, not throw into its caller (a timer's
 * callback: the liveness round stopped for good), nor count it as in flight (stop waited out its 500 ms).
 */
test('a unicast to port 0 throws nothing: reported as a send error, and stop does not wait for it', async () => {
  const errors: Error[] = [];
  const udp = new UdpMulticastTransport({
    group: '239.255.70.70',
    port: testGroupPort(),
    interfaceAddress: '127.0.0.1',
    onError: (err) => errors.push(err),
  });
  await udp.start(() => undefined);
  let threw: unknown;
  try {
    udp.sendTo(new Uint8Array(8), { address: '127.0.0.1', port: 0 });
  } catch (err) {
    threw = err;
  }
  const at = Date.now();
  await udp.stop();
  const stopMs = Date.now() - at;
  assert.is((threw as NodeJS.ErrnoException | undefined)?.code, undefined, 'the send threw');
  assert.is(errors.length, 1, 'reported once');
  assert.ok(stopMs < 300, `stop took ${stopMs} ms`);
});

test.run();
