import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../bench/harness.js';
import { changedDevices } from '../bench/system.js';
import { swimBaseline } from '../bench/systems/swim.js';
import { retransmitLimit, suspicionTimeoutMs } from '../bench/systems/swim-wire.js';

// The bench's SWIM baseline on real loopback sockets: the scale step's comparison is only as good as it.

test("memberlist's LAN formulas: λ·log N retransmits and the suspicion floor", () => {
  assert.is(retransmitLimit(50), 4 * 2);
  assert.is(retransmitLimit(200), 4 * 3);
  assert.is(suspicionTimeoutMs(5), 4000); // log10 below 1 counts as 1
  assert.is(Math.round(suspicionTimeoutMs(200)), Math.round(4 * Math.log10(200) * 1000));
});

test('eight members join through one, spread a change, and all see a crashed one dead; no live one is lost', async () => {
  const c = await swimBaseline.start({ agents: 8, devicesPerAgent: 3, loss: 0, heartbeatMs: 1000, seed: 7, port: 0 });
  try {
    assert.ok((await waitFor(() => c.converged(), 10_000)) !== undefined, 'every member holds every other');
    const version = await c.change(2, changedDevices(c.names[2], 1, 1, 3));
    const spread = await waitFor(() => c.names.every((_, v) => v === 2 || c.held(v, c.names[2]) >= version), 5000);
    assert.ok(spread !== undefined, 'the change reached every member');

    await c.crash(5);
    // A probe period to be picked, 0.5 s to miss the ack, the indirect probes, 4 s of suspicion, gossip.
    const lost = await waitFor(() => c.names.every((_, v) => v === 5 || c.state(v, c.names[5]) === 'lost'), 15_000);
    assert.ok(lost !== undefined, 'every member sees the crashed one dead');
    assert.ok(lost > 4000, `not before the suspicion timeout (${lost} ms)`);
    for (let v = 0; v < 8; v++)
      for (let o = 0; o < 8; o++)
        if (v !== o && v !== 5 && o !== 5) assert.is(c.state(v, c.names[o]), 'alive', `${v} holds ${o} alive`);
  } finally {
    await c.stop();
  }
});

test.run();
