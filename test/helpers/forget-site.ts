import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Mosquitto, mosquittoMissing } from './mosquitto.js';
import { mqttAgentArgs } from './mqtt-agent.js';
import { runHerald, testGroupPort, type Running } from './process.js';
import { hasCommand } from './requirements.js';
import { retainedOnly } from './retained.js';
import { TcpRelay } from './tcp-proxy.js';

/** What the forget tests need: a real broker, and mosquitto_sub to read what it retains. */
export function forgetSiteMissing(): string | undefined {
  return (
    mosquittoMissing() ?? (hasCommand('mosquitto_sub') ? undefined : 'mosquitto_sub (Debian package mosquitto-clients)')
  );
}

export interface ForgetAgent {
  proc: Running;
  api: string;
}

/**
 * Real agents on loopback bridged to a real mosquitto, some of them through a relay the test can cut: the stage of
 * the tests of a forget while the broker is away or goes away (mqtt-forget-away and the attacks on it).
 */
export interface ForgetSite {
  broker: Mosquitto;
  relay: TcpRelay;
  /** The broker's URL through the relay. */
  relayed: string;
  site: string;
  root: string;
  /** Starts an agent and waits for its start (and, unless `connected` is false, its bridge in step). */
  start(name: string, url: string, opts?: { extra?: string[]; connected?: boolean }): Promise<ForgetAgent>;
  /** `start` with a state folder of its own under `root`, the same at each start of `name` (owed forgets outlive it). */
  startKept(name: string, url: string, connected?: boolean): Promise<ForgetAgent>;
  /** What the broker retains for agent `name` under `base`, by topic. */
  retainedOf(name: string, base?: string): Promise<Map<string, string>>;
  /** Whether the broker retains `name`'s state saying online, and its device, under `base`. */
  onlineOn(name: string, base?: string): Promise<boolean>;
  /** `POST /v1/agents/<name>/forget` at `agent`: whether it was forgotten (409 while still held alive). */
  forget(agent: ForgetAgent, name: string): Promise<boolean>;
}

/** Runs `body` on a fresh site whose `agents` each offer one camera, then removes everything, also on failure. */
export async function withForgetSite(
  tag: string,
  agents: string[],
  body: (s: ForgetSite) => Promise<void>,
): Promise<void> {
  const broker = new Mosquitto();
  await broker.start();
  const relay = new TcpRelay(broker.port);
  await relay.open();
  const site = `s${Math.floor(Math.random() * 1e6)}`;
  const group = `239.255.70.70:${testGroupPort()}`;
  const root = await mkdtemp(join(tmpdir(), `herald-mqtt-${tag}-`));
  const running: Running[] = [];
  const start: ForgetSite['start'] = async (name, url, { extra = [], connected = true } = {}) => {
    const proc = runHerald(mqttAgentArgs({ name, site, group, url, profiles: join(root, name), extra }));
    running.push(proc);
    const started = await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 10_000);
    if (connected)
      await proc.waitFor(() => proc.logs().find((l) => l.msg === 'MQTT state in step with the directory'), 10_000);
    return { proc, api: `http://${String(started.api)}` };
  };
  const retainedOf: ForgetSite['retainedOf'] = async (name, base = 'herald') => {
    const all = await retainedOnly(broker.port, `${base}/${site}/#`);
    return new Map([...all].filter(([t]) => new RegExp(`/${name}(/|$)`).test(t)));
  };
  try {
    for (const who of agents) await cp(join('device-profiles', 'gate-camera.yaml'), join(root, who, 'cam.yaml'));
    await body({
      broker,
      relay,
      relayed: `mqtt://127.0.0.1:${relay.port}`,
      site,
      root,
      start,
      startKept: (name, url, connected = true) =>
        start(name, url, { extra: ['--state-dir', join(root, `${name}-state`)], connected }),
      retainedOf,
      onlineOn: async (name, base = 'herald') => {
        const topics = await retainedOf(name, base);
        const state = topics.get(`${base}/${site}/agents/${name}`);
        return topics.size >= 2 && !!state && (JSON.parse(state) as { state?: string }).state === 'online';
      },
      forget: async (agent, name) => {
        const res = await request(`${agent.api}/v1/agents/${name}/forget`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        });
        await res.body.dump();
        return res.statusCode === 200;
      },
    });
  } finally {
    for (const p of running) await p.stop('SIGKILL');
    await relay.cut();
    await broker.destroy();
    await rm(root, { recursive: true, force: true });
  }
}
