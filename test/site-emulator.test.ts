import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { profilesDir } from '../bench/agent-process.js';
import { sleep } from '../bench/harness.js';
import { emulatedAddress, SiteEmulator } from '../bench/scale/site-emulator.js';
import { generateKey } from '../src/security/cluster-key.js';
import { runHerald, testGroupPort, type Running } from './helpers/process.js';

// The footprint-1000 bench step measures one real agent among emulated ones: its figures mean something
// only if a real agent takes the emulated agents for members (signed datagrams, catch-up, endpoints).

interface Listed {
  agents: { name: string; state: string; address?: string }[];
}

test('a real agent takes five emulated agents in: alive, at their own addresses, every device held', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-emulator-'));
  const port = testGroupPort();
  const site = `t${port}`;
  const key = generateKey();
  await writeFile(join(dir, 'key'), key + '\n', { mode: 0o600 });
  const init = { site, group: '239.255.70.70', port, peers: 5, devicesPerPeer: 10, measured: `${site}-real`, key };
  const emulator = new SiteEmulator({ ...init, seed: port });
  let agent: Running | undefined;
  try {
    await emulator.start();
    const profiles = await profilesDir(dir, 2);
    agent = runHerald([
      ...['agent', '--name', init.measured, '--site', site, '--group', `239.255.70.70:${port}`, '--interface', 'lo'],
      ...['--api', '127.0.0.1:0', '--peer-port', '0', '--profiles', profiles, '--key-file', join(dir, 'key')],
      ...['--discovery', 'multicast', '--log-format', 'json'],
    ]);
    const a = agent;
    const started = await a.waitFor(() => a.logs().find((l) => l.msg === 'agent started'), 8000, 'agent started');
    const api = started.api as string;
    const devices = async () =>
      ((await (await request(`http://${api}/v1/devices`)).body.json()) as { count: number }).count;
    const deadline = Date.now() + 10_000;
    while ((await devices()) < 5 * 10 + 2 && Date.now() < deadline) await sleep(100);
    assert.is(await devices(), 5 * 10 + 2, "every emulated device held, and the agent's own two");

    const listed = (await (await request(`http://${api}/v1/agents`)).body.json()) as Listed;
    const emulated = listed.agents.filter((x) => x.name !== init.measured).sort((x, y) => (x.name < y.name ? -1 : 1));
    assert.equal(
      emulated.map((x) => [x.name, x.state, x.address]),
      [0, 1, 2, 3, 4].map((i) => [`${site}-e${i}`, 'alive', emulatedAddress(i)]),
    );
    // Caught up over HTTP from the emulated endpoints, and the agent's own datagrams reached the emulator.
    assert.ok(emulator.counts.changes >= 5, `catch-ups served: ${emulator.counts.changes}`);
    assert.ok(emulator.counts.multicastFromMeasured.solicit >= 1, 'the agent solicit was heard');
    assert.equal(emulator.counts.refused, {}, 'no request of the agent was refused (signed with the same key)');
  } finally {
    await agent?.stop();
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
