import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mosquitto, mosquittoMissing } from './helpers/mosquitto.js';
import { mqttAgentArgs } from './helpers/mqtt-agent.js';
import { runHerald, testGroupPort, type Running } from './helpers/process.js';
import { hasCommand, testIf } from './helpers/requirements.js';
import { retainedOnly } from './helpers/retained.js';
import { TcpRelay } from './helpers/tcp-proxy.js';
import { until } from './helpers/until.js';

/**
 * A forget told to an agent whose broker is away (its bridge still connecting after a restart, or cut off). Found
 * by mqtt-ha's rename under load (tests20's lanes, 2026-11-29): `herald forget a1` through the renamed host's new
 * agent answered 0 before that agent's bridge had connected, and in agent mode nothing cleared the old name's
 * retained state afterwards: a ghost for good.
 */
const test = suite('MQTT: a forget while the broker is away (real mosquitto, real agents)');
const missing =
  mosquittoMissing() ?? (hasCommand('mosquitto_sub') ? undefined : 'mosquitto_sub (Debian package mosquitto-clients)');

testIf(test, missing, "the old agent's retained state is cleared once the broker is back", async () => {
  const broker = new Mosquitto();
  await broker.start();
  const relay = new TcpRelay(broker.port);
  await relay.open();
  const site = `s${Math.floor(Math.random() * 1e6)}`;
  const group = `239.255.70.70:${testGroupPort()}`;
  const root = await mkdtemp(join(tmpdir(), 'herald-mqtt-away-'));
  const running: Running[] = [];
  try {
    for (const who of ['a1', 'a3']) await cp(join('device-profiles', 'gate-camera.yaml'), join(root, who, 'cam.yaml'));
    const start = async (name: string, url: string) => {
      const proc = runHerald(mqttAgentArgs({ name, site, group, url, profiles: join(root, name) }));
      running.push(proc);
      const started = await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 10_000);
      await proc.waitFor(() => proc.logs().find((l) => l.msg === 'MQTT state in step with the directory'), 10_000);
      return { proc, api: `http://${String(started.api)}` };
    };
    const a1 = await start('a1', broker.url);
    const a3 = await start('a3', `mqtt://127.0.0.1:${relay.port}`);
    const a1Topics = async () =>
      [...(await retainedOnly(broker.port, `herald/${site}/#`)).keys()].filter((t) => /\/a1(\/|$)/.test(t));
    await until(async () => (await a1Topics()).length >= 2, 10_000, "a1's state and device retained");

    await relay.cut();
    await a1.proc.stop('SIGTERM');
    const forget = async () => {
      const res = await request(`${a3.api}/v1/agents/a1/forget`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      await res.body.dump();
      return res.statusCode === 200;
    };
    // 409 while a3 still holds a1 alive: its goodbye is a datagram away.
    await until(forget, 10_000, 'a3 forgets a1 (its broker away)');
    await a3.proc.waitFor(
      () => a3.proc.logs().find((l) => String(l.msg).startsWith('forgotten while the broker')),
      5_000,
    );
    assert.ok((await a1Topics()).length >= 2, "a1's state is still retained while a3 cannot reach the broker");

    await relay.open();
    await until(async () => (await a1Topics()).length === 0, 40_000, "a1's retained state cleared after a3 reconnects");
  } finally {
    for (const p of running) await p.stop('SIGKILL');
    await relay.cut();
    await broker.destroy();
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
