import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { suite } from 'uvu';
import { Mosquitto, mosquittoMissing } from '../helpers/mosquitto.js';
import { mqttAgentArgs } from '../helpers/mqtt-agent.js';
import { runHerald, testGroupPort, type Running } from '../helpers/process.js';
import { hasCommand } from '../helpers/requirements.js';
import { retainedOnly } from '../helpers/retained.js';
import { TcpRelay } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/until.js';

/**
 * attack21: a forget kept while the broker is away (Retirement.owe) lived in memory only. The publisher restarted
 * before the broker is back (a3 forgets a1 with its broker cut, a3 restarts, the broker comes back): a1's retained
 * state and device stayed on the broker for good (measured: both still there 20 s after a3's reconnect; a3 no longer
 * knows a1, no peer holds it, nothing retires it). Now owed forgets are kept in the state folder
 * (mqtt-owed-forgets.json, src/mqtt/owed-forgets.ts) until their purge has run, as a systemd unit's StateDirectory=
 * gives every agent one.
 */
const test = suite('attack: MQTT forget owed, then the publisher restarted before the broker is back');
const missing =
  mosquittoMissing() ?? (hasCommand('mosquitto_sub') ? undefined : 'mosquitto_sub (Debian package mosquitto-clients)');
test("a1's retained state is cleared though a3 restarted during the outage", async () => {
  if (missing) return;
  const broker = new Mosquitto();
  await broker.start();
  const relay = new TcpRelay(broker.port);
  await relay.open();
  const site = `s${Math.floor(Math.random() * 1e6)}`;
  const group = `239.255.70.70:${testGroupPort()}`;
  const root = await mkdtemp(join(tmpdir(), 'herald-mqtt-restart-'));
  const running: Running[] = [];
  try {
    for (const who of ['a1', 'a3']) await cp(join('device-profiles', 'gate-camera.yaml'), join(root, who, 'cam.yaml'));
    const start = async (name: string, url: string, connected = true) => {
      const extra = ['--state-dir', join(root, `${name}-state`)];
      const proc = runHerald(mqttAgentArgs({ name, site, group, url, profiles: join(root, name), extra }));
      running.push(proc);
      const started = await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 10_000);
      if (connected)
        await proc.waitFor(() => proc.logs().find((l) => l.msg === 'MQTT state in step with the directory'), 10_000);
      return { proc, api: `http://${String(started.api)}` };
    };
    const a1 = await start('a1', broker.url);
    let a3 = await start('a3', `mqtt://127.0.0.1:${relay.port}`);
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
    await until(forget, 10_000, 'a3 forgets a1 (its broker away)');
    await a3.proc.stop('SIGTERM');
    a3 = await start('a3', `mqtt://127.0.0.1:${relay.port}`, false);

    await relay.open();
    await a3.proc.waitFor(
      () => a3.proc.logs().find((l) => l.msg === 'MQTT state in step with the directory'),
      40_000,
      'a3 reconnects',
    );
    await until(async () => (await a1Topics()).length === 0, 20_000, "a1's retained state cleared after a3's restart");
  } finally {
    for (const p of running) await p.stop('SIGKILL');
    await relay.cut();
    await broker.destroy();
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
