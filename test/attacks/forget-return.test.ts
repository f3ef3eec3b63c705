import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { suite } from 'uvu';
import { runHerald, testGroupPort, type Running } from '../helpers/process.js';
import { until } from '../helpers/until.js';

/**
 * attack21: `herald forget a1` once a1 has left, then a1's host back (a restart, the same name). The forget took a1
 * out of the directory but not out of cluster sync's peers: the next life was taken for a move of the peer still
 * held, each catch-up of it failed ("applySnapshot: unknown origin 'a1'", retried for good) and a1 was never shown
 * again by the agent that forgot it, though it answered and heartbeat (measured: 404 for 15 s and on).
 */
const test = suite('attack: an agent forgotten, then back under the same name (real agents, loopback)');

test('the agent that forgot a1 shows it again once a1 is back', async () => {
  const site = `f${Math.floor(Math.random() * 1e6)}`;
  const group = `239.255.70.71:${testGroupPort()}`;
  const root = await mkdtemp(join(tmpdir(), 'herald-forget-return-'));
  const running: Running[] = [];
  try {
    for (const who of ['a1', 'a2']) await cp(join('device-profiles', 'gate-camera.yaml'), join(root, who, 'cam.yaml'));
    const start = async (name: string) => {
      const args = ['agent', '--name', name, '--site', site, '--group', group, '--api', '127.0.0.1:0'];
      args.push('--peer-port', '0', '--discovery', 'multicast', '--profiles', join(root, name), '--log-format', 'json');
      const proc = runHerald(args);
      running.push(proc);
      const started = await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 10_000);
      return { proc, api: `http://${String(started.api)}` };
    };
    const a2 = await start('a2');
    const a1 = await start('a1');
    const a1State = async () => {
      const res = await request(`${a2.api}/v1/agents/a1`);
      const body = (await res.body.json()) as { state?: string; devices?: number };
      return res.statusCode === 200 ? body : undefined;
    };
    await until(async () => (await a1State())?.devices === 1, 10_000, 'a2 holds a1 and its device');

    await a1.proc.stop('SIGTERM');
    const forget = async () => {
      const res = await request(`${a2.api}/v1/agents/a1/forget`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      await res.body.dump();
      return res.statusCode === 200;
    };
    await until(forget, 10_000, 'a2 forgets a1 once it has left');

    await start('a1');
    await until(
      async () => {
        const held = await a1State();
        return held?.state === 'alive' && held.devices === 1;
      },
      10_000,
      'a2 shows a1 alive with its device again',
    );
  } finally {
    for (const p of running) await p.stop('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
