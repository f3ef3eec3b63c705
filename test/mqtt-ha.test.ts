import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPkg from 'mqtt';
import { request } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mosquitto, mosquittoMissing } from './helpers/mosquitto.js';
import { mqttAgentArgs } from './helpers/mqtt-agent.js';
import { runHerald, testGroupPort, type Running } from './helpers/process.js';
import { hasCommand, testIf } from './helpers/requirements.js';
import { retainedOnly } from './helpers/retained.js';
import { runForgetCommand } from '../src/cli/forget-command.js';
import { haObjectId } from '../src/mqtt/home-assistant.js';
import { until } from './helpers/until.js';

/**
 * Issue 14's acceptance against a real Mosquitto and real agent processes: agents publishing under
 * base `herald` and a gateway under base `gwtest`, with Home Assistant discovery, in one site.
 */
const test = suite('MQTT: Home Assistant, gateways, retirement (real mosquitto, real agents)');
const missing =
  mosquittoMissing() ?? (hasCommand('mosquitto_sub') ? undefined : 'mosquitto_sub (Debian package mosquitto-clients)');

interface Agent {
  name: string;
  proc: Running;
  api: string;
}

interface DeviceList {
  devices: { agent: string; id: string }[];
  count: number;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await request(url);
  return (await res.body.json()) as T;
}

/** The HA object id of base/site/agent[/device], as docs/mqtt.md defines it (these names need no escape). */
function haId(...parts: string[]): string {
  return ['herald', ...parts].join('__');
}

function diff(actual: Map<string, string>, expected: Set<string>): string {
  const extra = [...actual.keys()].filter((t) => !expected.has(t));
  const absent = [...expected].filter((t) => !actual.has(t));
  return extra.length === 0 && absent.length === 0 ? '' : `ghosts: ${extra.join(' ')} | missing: ${absent.join(' ')}`;
}

testIf(
  test,
  missing,
  'two bases, a gateway and agents: each HA config as its publisher wants; kill -9, fewer devices, rename and forget leave no ghost',
  async () => {
    const broker = new Mosquitto();
    await broker.start();
    const site = `s${Math.floor(Math.random() * 1e6)}`;
    const group = `239.255.70.70:${testGroupPort()}`;
    const root = await mkdtemp(join(tmpdir(), 'herald-mqtt-ha-'));
    const running: Running[] = [];
    try {
      const profiles: Record<string, string[]> = {
        a1: ['gate-camera.yaml', 'greenhouse-climate.yaml', 'office-printer.yaml'],
        a2: ['irrigation-relays.yaml', 'main-energy-meter.json'],
        gw: ['zigbee-coordinator.yaml'],
      };
      for (const [who, files] of Object.entries(profiles))
        for (const f of files) await cp(join('device-profiles', f), join(root, who, f));
      const start = async (name: string, dir: string, extra: string[]): Promise<Agent> => {
        const proc = runHerald(mqttAgentArgs({ name, site, group, url: broker.url, profiles: join(root, dir), extra }));
        running.push(proc);
        const started = await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 10_000);
        return { name, proc, api: `http://${String(started.api)}` };
      };
      const agentFlags = ['--mqtt-homeassistant'];
      const gwFlags = ['--mqtt-mode', 'gateway', '--mqtt-base', 'gwtest', '--mqtt-homeassistant', '--mqtt-requests'];
      let a1 = await start('a1', 'a1', agentFlags);
      const a2 = await start('a2', 'a2', agentFlags);
      const gw = await start('gw', 'gw', gwFlags);
      const own = async (a: Agent) =>
        (await getJson<DeviceList>(`${a.api}/v1/devices?agent=${a.name}`)).devices.map((d) => d.id);
      const devices: Record<string, string[]> = { a1: await own(a1), a2: await own(a2), gw: await own(gw) };

      /** Every retained topic the publishers should hold: agent-mode under herald, the gateway's under gwtest. */
      const expected = (heraldAgents: string[], gatewayView: string[]) => {
        const out = new Set<string>();
        const add = (base: string, agent: string) => {
          out.add(`${base}/${site}/agents/${agent}`);
          out.add(`homeassistant/device/${haId(base, site, agent)}/config`);
          for (const id of devices[agent]) {
            out.add(`${base}/${site}/devices/${agent}/${id}`);
            out.add(`homeassistant/device/${haId(base, site, agent, id)}/config`);
          }
        };
        for (const a of heraldAgents) {
          add('herald', a);
          out.add(`herald/${site}/bridge/info/${a}`);
          out.add(`herald/${site}/bridge/devices/${a}`);
        }
        for (const a of gatewayView) add('gwtest', a);
        for (const kind of ['state', 'info', 'devices']) out.add(`gwtest/${site}/bridge/${kind}/gw`);
        return out;
      };
      const converge = async (want: Set<string>, what: string) => {
        let last = '';
        try {
          return await until(
            async () => {
              const r = await retainedOnly(broker.port);
              last = diff(r, want);
              return last === '' ? r : undefined;
            },
            20_000,
            what,
          );
        } catch (err) {
          throw new Error(`${(err as Error).message}: ${last}`, { cause: err });
        }
      };

      const all = await converge(expected(['a1', 'a2'], ['a1', 'a2', 'gw']), 'both bases published');
      for (const [topic, payload] of all) {
        if (!topic.startsWith('homeassistant/')) continue;
        const config = JSON.parse(payload) as { avty: { t: string }[]; dev: { via_device?: string } };
        const [, base, , agent] = topic.split('/')[2].split('__');
        const expectedAvailability =
          base === 'gwtest' ? `gwtest/${site}/bridge/state/gw` : `herald/${site}/agents/${agent}`;
        assert.is(config.avty[0].t, expectedAvailability, `availability of ${topic} follows its publisher`);
      }

      // kill -9: the agent-mode publisher's will says offline; the gateway keeps a2's records and says offline.
      a2.proc.proc.kill('SIGKILL');
      await until(
        async () =>
          (await getJson<{ agents: { name: string; state: string }[] }>(`${gw.api}/v1/agents`)).agents.find(
            (a) => a.name === 'a2' && a.state === 'lost',
          ),
        10_000,
        'the gateway sees a2 lost',
      );
      const state = (t: string) => (JSON.parse(afterKill.get(t) ?? '{}') as { state?: string }).state;
      let afterKill = new Map<string, string>();
      await until(
        async () => {
          afterKill = await converge(expected(['a1', 'a2'], ['a1', 'a2', 'gw']), 'nothing lost, nothing ghost');
          return state(`gwtest/${site}/agents/a2`) === 'offline';
        },
        5_000,
        'the gateway states a2 offline',
      );
      assert.is(state(`herald/${site}/agents/a2`), 'offline', 'the will');
      assert.is(state(`gwtest/${site}/agents/a2`), 'offline', "the connectivity sensor's state reads OFF");
      assert.is(state(`gwtest/${site}/bridge/state/gw`), 'online', 'while its availability stays online');
      const sensor = JSON.parse(afterKill.get(`homeassistant/device/${haId('gwtest', site, 'a2')}/config`)!) as {
        cmps: { connectivity: { stat_t: string; avty?: unknown } };
        avty: { t: string }[];
      };
      assert.is(sensor.cmps.connectivity.stat_t, `gwtest/${site}/agents/a2`);
      assert.is(sensor.avty[0].t, `gwtest/${site}/bridge/state/gw`);

      // forget: an alive agent is refused; a lost one goes from every publisher asked.
      const forget = (a: Agent, name: string) =>
        request(`${a.api}/v1/agents/${name}/forget`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        });
      const refused = await forget(gw, 'a1');
      assert.is(refused.statusCode, 409);
      assert.match(await refused.body.text(), /alive/);
      const itself = await forget(gw, 'gw');
      assert.is(itself.statusCode, 409, 'a publisher does not forget itself');
      await itself.body.dump();
      const form = await request(`${gw.api}/v1/agents/a2/forget`, { method: 'POST', body: 'x=1' });
      assert.is(form.statusCode, 415, 'a cross-site form post (no JSON content type) is refused');
      await form.body.dump();
      for (const a of [a1, gw]) assert.is((await forget(a, 'a2')).statusCode, 200);
      await converge(expected(['a1'], ['a1', 'gw']), 'a2 forgotten everywhere');

      // A restart with fewer devices.
      await a1.proc.stop('SIGTERM');
      await rm(join(root, 'a1', 'office-printer.yaml'));
      a1 = await start('a1', 'a1', agentFlags);
      devices.a1 = await own(a1);
      assert.is(devices.a1.length, 2);
      await converge(expected(['a1'], ['a1', 'gw']), 'the removed device gone under both bases');

      // The host is renamed: the old name is forgotten through the new one's API.
      await a1.proc.stop('SIGTERM');
      const a3 = await start('a3', 'a1', agentFlags);
      devices.a3 = devices.a1;
      // As `herald forget a1 --api <a3's API>` runs it (src/cli/forget-command.ts), and through the gateway's API.
      assert.is(await runForgetCommand('a1', { api: a3.api.slice('http://'.length) }), 0);
      assert.is((await forget(gw, 'a1')).statusCode, 200);
      await converge(expected(['a3'], ['a3', 'gw']), 'the old name gone');
    } finally {
      for (const p of running) await p.stop('SIGKILL');
      await broker.destroy();
      await rm(root, { recursive: true, force: true });
    }
  },
);

testIf(
  test,
  missing,
  'bridge/request/devices with a filter answers with the transaction and exactly what /v1/devices returns',
  async () => {
    const broker = new Mosquitto();
    await broker.start();
    const site = `r${Math.floor(Math.random() * 1e6)}`;
    const group = `239.255.70.70:${testGroupPort()}`;
    const running: Running[] = [];
    const client = await mqttPkg.connectAsync(broker.url, { protocolVersion: 5 });
    try {
      const start = (name: string, extra: string[]) => {
        const proc = runHerald(
          mqttAgentArgs({ name, site, group, url: broker.url, profiles: 'device-profiles', extra }),
        );
        running.push(proc);
        return proc.waitFor(() => proc.logs().find((l) => l.msg === 'MQTT state in step with the directory'), 10_000);
      };
      await start('plain', []);
      await start('answers', ['--mqtt-requests']);
      const answering = running[1];
      const api = `http://${String(answering.logs().find((l) => l.msg === 'agent started')?.api)}`;
      const responses: { topic: string; body: Record<string, unknown> }[] = [];
      client.on('message', (topic, payload) =>
        responses.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> }),
      );
      await client.subscribeAsync(`herald/${site}/bridge/response/+`);
      const ask = async (command: string, body: Record<string, unknown>) => {
        await client.publishAsync(`herald/${site}/bridge/request/${command}`, JSON.stringify(body));
        return until(
          () => responses.find((r) => r.body.transaction === body.transaction),
          5_000,
          `the response to ${command}`,
        );
      };
      const r = await ask('devices', { transaction: 'tx-7', kind: 'stream' });
      assert.is(r.topic, `herald/${site}/bridge/response/devices`);
      assert.is(r.body.status, 'ok');
      assert.is(r.body.publisher, 'answers', 'only the publisher with --mqtt-requests answers');
      const viaApi = await getJson<DeviceList>(`${api}/v1/devices?kind=stream`);
      assert.ok(viaApi.count > 0, 'the filter matches something');
      assert.equal(r.body.data, viaApi, 'exactly what /v1/devices returns');
      const bad = await ask('devices', { transaction: 8, kind: 'teleport' });
      assert.is(bad.body.status, 'error');
      assert.is((bad.body.error as { code: string }).code, 'bad-parameter');
      await until(
        async () => (await getJson<{ count: number }>(`${api}/v1/agents`)).count === 2,
        10_000,
        'the two agents see each other',
      );
      const alive = await ask('forget', { transaction: 'tx-9', agent: 'plain' });
      assert.is((alive.body.error as { code: string }).code, 'agent-alive', 'forget of an alive agent is refused');
      await new Promise((r) => setTimeout(r, 500));
      assert.is(
        responses.filter((x) => x.body.publisher === 'plain').length,
        0,
        'a publisher without --mqtt-requests never answers',
      );
    } finally {
      await client.endAsync();
      for (const p of running) await p.stop('SIGKILL');
      await broker.destroy();
    }
  },
);

testIf(
  test,
  missing,
  'retire automatically: a lost agent is cleared after --mqtt-retire-after, by gateway and peers',
  async () => {
    const broker = new Mosquitto();
    await broker.start();
    const site = `t${Math.floor(Math.random() * 1e6)}`;
    const group = `239.255.70.70:${testGroupPort()}`;
    const running: Running[] = [];
    try {
      const start = (name: string, extra: string[]) => {
        const proc = runHerald(
          mqttAgentArgs({ name, site, group, url: broker.url, profiles: 'device-profiles', extra }),
        );
        running.push(proc);
        return proc.waitFor(() => proc.logs().find((l) => l.msg === 'MQTT state in step with the directory'), 10_000);
      };
      const retire = ['--mqtt-retire-after', '2', '--mqtt-homeassistant'];
      await start('peer', retire);
      await start('doomed', retire);
      await start('gw', ['--mqtt-mode', 'gateway', '--mqtt-base', 'gwr', ...retire]);
      const of = (r: Map<string, string>, agent: string) =>
        [...r.keys()].filter((t) => t.split('/').includes(agent) || t.includes(`__${agent}`));
      await until(
        async () => of(await retainedOnly(broker.port), 'doomed').length >= 2 * (2 + 2 * 6) + 2,
        15_000,
        "doomed's topics under both bases",
      );
      running[1].proc.kill('SIGKILL');
      const left = await until(
        async () => {
          const r = await retainedOnly(broker.port);
          return of(r, 'doomed').length === 0 ? r : undefined;
        },
        20_000,
        'every retained topic of the killed agent cleared, under both bases',
      );
      assert.ok(of(left, 'peer').length > 0 && of(left, 'gw').length > 0, 'the living keep theirs');
    } finally {
      for (const p of running) await p.stop('SIGKILL');
      await broker.destroy();
    }
  },
);

test('HA ids: distinct (base, site, agent, device) never share an id, and ids use only what HA allows', () => {
  const tuples: [string, string, string, string?][] = [
    ['a_b', 'c', 'x'],
    ['a', 'b_c', 'x'],
    ['a', 'b', 'c__x'],
    ['a', 'b', 'c', 'x'],
    ['a', 'b', 'c_5f', 'x'],
    ['a', 'b', 'c_', '5fx'],
    ['herald', 'north', 'pi.1', 'cam'],
    ['herald', 'north', 'pi_2e1', 'cam'],
    ['herald', '中', 'x'],
    ['herald', 'ⴭ', 'x'],
  ];
  const ids = tuples.map(([b, s, a, d]) => haObjectId(b, s, a, d));
  assert.is(new Set(ids).size, ids.length, ids.join(' '));
  for (const id of ids) assert.match(id, /^[a-zA-Z0-9_-]+$/);
});

test.run();
