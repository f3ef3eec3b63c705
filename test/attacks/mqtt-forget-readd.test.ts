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
 * attack21: a forget owed while the broker is away (Retirement.owe), then the same name back before the reconnect.
 * The owed forget must not clear a device that is live again: a gateway publishes every peer's state and devices,
 * and the reconnect's owed purge cleared the returned agent's topics from what the gateway holds and from the broker.
 */
const test = suite('attack: MQTT forget owed while the broker is away, then the name back (real mosquitto)');
const missing =
  mosquittoMissing() ?? (hasCommand('mosquitto_sub') ? undefined : 'mosquitto_sub (Debian package mosquitto-clients)');

testIf(test, missing, "a gateway's owed forget leaves an agent that came back before the reconnect", async () => {
  const broker = new Mosquitto();
  await broker.start();
  const relay = new TcpRelay(broker.port);
  await relay.open();
  const site = `s${Math.floor(Math.random() * 1e6)}`;
  const group = `239.255.70.70:${testGroupPort()}`;
  const root = await mkdtemp(join(tmpdir(), 'herald-mqtt-readd-'));
  const running: Running[] = [];
  try {
    for (const who of ['a1', 'gw']) await cp(join('device-profiles', 'gate-camera.yaml'), join(root, who, 'cam.yaml'));
    const start = async (name: string, url: string, extra: string[] = []) => {
      const proc = runHerald(mqttAgentArgs({ name, site, group, url, profiles: join(root, name), extra }));
      running.push(proc);
      const started = await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 10_000);
      await proc.waitFor(() => proc.logs().find((l) => l.msg === 'MQTT state in step with the directory'), 10_000);
      return { proc, api: `http://${String(started.api)}` };
    };
    const gw = await start('gw', `mqtt://127.0.0.1:${relay.port}`, ['--mqtt-mode', 'gateway', '--mqtt-base', 'gwt']);
    let a1 = await start('a1', broker.url);
    const a1Topics = async () => {
      const all = await retainedOnly(broker.port, `gwt/${site}/#`);
      return new Map([...all].filter(([t]) => /\/a1(\/|$)/.test(t)));
    };
    const a1Online = async () => {
      const topics = await a1Topics();
      const state = topics.get(`gwt/${site}/agents/a1`);
      return topics.size >= 2 && !!state && (JSON.parse(state) as { state?: string }).state === 'online';
    };
    await until(a1Online, 10_000, "the gateway publishes a1's state and device");

    await relay.cut();
    await a1.proc.stop('SIGTERM');
    const forget = async () => {
      const res = await request(`${gw.api}/v1/agents/a1/forget`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      await res.body.dump();
      return res.statusCode === 200;
    };
    await until(forget, 10_000, 'the gateway forgets a1 (its broker away)');
    await gw.proc.waitFor(() => gw.proc.logs().find((l) => String(l.msg).startsWith('forgotten while the broker')));

    // The same name back (its host restarted) before the gateway's broker is.
    a1 = await start('a1', broker.url);
    const alive = async () => {
      const res = await request(`${gw.api}/v1/agents/a1`);
      const body = (await res.body.json()) as { state?: string };
      return res.statusCode === 200 && body.state === 'alive';
    };
    await until(alive, 10_000, 'the gateway holds a1 alive again');

    const steps = () => gw.proc.logs().filter((l) => l.msg === 'MQTT state in step with the directory').length;
    const before = steps();
    await relay.open();
    await gw.proc.waitFor(() => steps() > before, 40_000, 'the gateway reconnects');
    // The owed purge reads back for the retained window (500 ms) before it decides: give it several.
    await new Promise((r) => setTimeout(r, 3_000));
    const left = await a1Topics();
    assert.ok(await a1Online(), `a1 is live: the gateway still publishes it (held: ${[...left.keys()].join(', ')})`);
  } finally {
    for (const p of running) await p.stop('SIGKILL');
    await relay.cut();
    await broker.destroy();
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
