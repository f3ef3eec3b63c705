import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent } from '../../src/agent/agent.js';
import { MqttBridge } from '../../src/mqtt/bridge.js';
import { MemoryProfileSource } from '../../src/profiles/source.js';
import { systemClock } from '../../src/util/clock.js';
import { memoryLogger } from '../../src/util/logger.js';

/**
 * s23 attackb, the owed forgets past the 256 kept (thaw23, Retirement.refuse). Made-up names fill the list while the
 * broker is away (anyone who may forget can); a real forget after them is refused: its agent's retained state stays
 * on the broker for good, which thaw23 says in a log line once a minute. The one who asked was told otherwise: the
 * API's 200 `{"forgotten":true}` and `herald forget`'s "real-host forgotten", as for a forget whose purge is owed.
 */
const test = suite('attack: a forget refused by a full owed list is said to the one who asked');

/** A loopback port nothing listens on (bound, then closed): the broker away. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('the 257th forget while the broker is away answers that its MQTT state stays', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-forget-said-'));
  const clock = systemClock();
  const { logger } = memoryLogger('warn');
  // Nothing listens there: the bridge starts and keeps trying, its broker away (a real socket: the real-time lane).
  const bridge = new MqttBridge({
    url: `mqtt://127.0.0.1:${await closedPort()}`,
    base: 'herald',
    protocol: '5',
    mode: 'agent',
    homeAssistant: false,
    importSites: [],
    retainedWindowMs: 300,
    stateDir: dir,
  });
  const agent = new Agent(
    {
      clock,
      random: Math.random,
      logger,
      profiles: new MemoryProfileSource([]),
      peers: {
        changes: () => Promise.resolve(undefined),
        hello: () => Promise.reject(new Error('no peers')),
        close: () => Promise.resolve(),
      },
      peerListener: () => ({ start: () => Promise.resolve(7771), stop: () => Promise.resolve() }),
      extensions: [bridge],
    },
    { name: 'gw', site: 'attack', incarnation: clock.now(), address: '127.0.0.1', host: 'gw', api: null },
  );
  try {
    await agent.start();
    for (let i = 0; i < 256; i++) assert.ok(agent.forgetAgent(`made-up-${i}`).forgotten);
    const real = agent.forgetAgent('real-host');
    const said = JSON.stringify(real);
    assert.ok(real.forgotten, said); // it left the directory: that much is true
    const notes = (real as { notes?: string[] }).notes ?? [];
    assert.ok(
      notes.some((n) => /retained/.test(n) && /again/.test(n)),
      `not told its MQTT state stays: ${said}`,
    );
    const owed = agent.forgetAgent('made-up-3'); // already owed: nothing to add
    assert.is((owed as { notes?: string[] }).notes, undefined, JSON.stringify(owed));
  } finally {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
