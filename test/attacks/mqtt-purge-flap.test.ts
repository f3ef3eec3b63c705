import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mosquitto, mosquittoMissing } from '../helpers/mosquitto.js';
import { mqttAgentArgs } from '../helpers/mqtt-agent.js';
import { runHerald, testGroupPort, type Running } from '../helpers/process.js';
import { hasCommand, testIf } from '../helpers/requirements.js';
import { retainedOnly } from '../helpers/retained.js';
import { TcpRelay } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/until.js';

/**
 * attack21: the broker goes away in the middle of a forget's purge (agent mode: the purge subscribes, reads back the
 * retained topics for its window, then clears them). A purge cut off must still be done after the next connect, as
 * a forget that found the broker away is (Retirement.owe).
 */
const test = suite('attack: MQTT broker flapping mid-purge (real mosquitto, real agents)');
const missing =
  mosquittoMissing() ?? (hasCommand('mosquitto_sub') ? undefined : 'mosquitto_sub (Debian package mosquitto-clients)');

testIf(test, missing, "a purge cut off by the broker's loss is done after the reconnect", async () => {
  const broker = new Mosquitto();
  await broker.start();
  const relay = new TcpRelay(broker.port);
  await relay.open();
  const site = `s${Math.floor(Math.random() * 1e6)}`;
  const group = `239.255.70.70:${testGroupPort()}`;
  const root = await mkdtemp(join(tmpdir(), 'herald-mqtt-flap-'));
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

    // a1 killed (its will says offline, retained), a3 still holds it lost: it may be forgotten.
    await a1.proc.stop('SIGKILL');
    const forget = async () => {
      const res = await request(`${a3.api}/v1/agents/a1/forget`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      await res.body.dump();
      return res.statusCode === 200;
    };
    await until(forget, 20_000, 'a3 forgets a1 (its broker connected)');
    // The purge reads back for 500 ms before it clears: the link goes down inside that window.
    await relay.cut();
    await new Promise((r) => setTimeout(r, 2_000));
    assert.ok((await a1Topics()).length >= 2, "a1's state is still retained: the purge was cut off");

    await relay.open();
    const cleared = async () => (await a1Topics()).length === 0;
    await until(cleared, 40_000, "a1's retained state cleared after a3 reconnects").catch((err: unknown) => {
      const said = a3.proc.logs().filter((l) => /MQTT|purge|forg/.test(String(l.msg)));
      throw new Error(`${(err as Error).message}; a3 said: ${said.map((l) => String(l.msg)).join(' | ')}`);
    });
  } finally {
    for (const p of running) await p.stop('SIGKILL');
    await relay.cut();
    await broker.destroy();
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
