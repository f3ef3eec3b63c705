import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPkg from 'mqtt';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mosquitto, mosquittoMissing } from './helpers/mosquitto.js';
import { mqttAgentArgs } from './helpers/mqtt-agent.js';
import { runHerald, testGroupPort, type Running } from './helpers/process.js';
import { testIf } from './helpers/requirements.js';
import { until } from './helpers/until.js';

// ajv is a dev dependency only: it checks docs/mqtt.schema.json against what a real bridge publishes.
const require = createRequire(import.meta.url);
type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
const Ajv = require('ajv') as new (opts: object) => {
  addSchema(schema: object): void;
  getSchema(ref: string): Validate | undefined;
};

const test = suite('MQTT payloads match docs/mqtt.schema.json (real mosquitto, real agents)');
const missing = mosquittoMissing();

/** Which definition of the schema a topic's payload follows, as docs/mqtt.md lists them. */
function definitionOf(topic: string, bases: string[]): string | undefined {
  const ha = /^homeassistant\/device\/([^/]+)\/config$/.exec(topic);
  if (ha) return ha[1].split('__').length === 4 ? 'haAgentConfig' : 'haDeviceConfig';
  const parts = topic.split('/');
  if (!bases.includes(parts[0])) return undefined;
  const rest = parts.slice(2).join('/');
  const table: [RegExp, string][] = [
    [/^agents\/[^/]+$/, 'agentState'],
    [/^devices\/[^/]+\/[^/]+$/, 'deviceRecord'],
    [/^events$/, 'event'],
    [/^bridge\/state\/[^/]+$/, 'bridgeState'],
    [/^bridge\/info\/[^/]+$/, 'bridgeInfo'],
    [/^bridge\/devices\/[^/]+$/, 'bridgeDevices'],
    [/^bridge\/request\/[^/]+$/, 'request'],
    [/^bridge\/response\/[^/]+$/, 'response'],
  ];
  return table.find(([re]) => re.test(rest))?.[1];
}

testIf(test, missing, 'every message a gateway and an agent publish, retained or not, follows the schema', async () => {
  const broker = new Mosquitto();
  await broker.start();
  const root = await mkdtemp(join(tmpdir(), 'herald-mqtt-schema-'));
  const running: Running[] = [];
  const watcher = await mqttPkg.connectAsync(broker.url, { protocolVersion: 5 });
  try {
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema(JSON.parse(await readFile('docs/mqtt.schema.json', 'utf8')) as object);
    const seen: { topic: string; payload: string }[] = [];
    watcher.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await watcher.subscribeAsync('#');
    const site = `v${Math.floor(Math.random() * 1e6)}`;
    const group = `239.255.70.70:${testGroupPort()}`;
    await cp('device-profiles', join(root, 'p'), { recursive: true });
    const start = (name: string, extra: string[]) => {
      const proc = runHerald(mqttAgentArgs({ name, site, group, url: broker.url, profiles: join(root, 'p'), extra }));
      running.push(proc);
      return proc.waitFor(() => proc.logs().some((l) => l.msg === 'MQTT state in step with the directory'), 10_000);
    };
    await start('gw', ['--mqtt-mode', 'gateway', '--mqtt-base', 'gwv', '--mqtt-homeassistant', '--mqtt-requests']);
    await start('ag', ['--mqtt-homeassistant']);
    await until(
      () => seen.some((m) => m.topic === `gwv/${site}/devices/ag/gate-camera`),
      10_000,
      'the peer via the gateway',
    );
    // Changes and requests, so that events and responses are published too.
    await rm(join(root, 'p', 'office-printer.yaml'));
    for (const [command, body] of [
      ['devices', { transaction: 1, kind: 'stream' }],
      ['agents', { transaction: 'two' }],
      ['get', { transaction: 3, agent: 'ag', device: 'gate-camera' }],
      ['forget', { transaction: 4, agent: 'ag' }],
      ['nonsense', {}],
    ] as const)
      await watcher.publishAsync(`gwv/${site}/bridge/request/${command}`, JSON.stringify(body));
    running[1].proc.kill('SIGKILL');
    await until(
      () => seen.some((m) => m.topic.endsWith('/events') && m.payload.includes('agent-lost')),
      10_000,
      'lost',
    );
    await until(() => seen.filter((m) => m.topic.includes('/bridge/response/')).length === 5, 5_000, 'responses');

    const kinds = new Set<string>();
    for (const { topic, payload } of seen) {
      if (payload === '') continue; // a cleared retained topic
      const definition = definitionOf(topic, ['herald', 'gwv']);
      assert.ok(definition, `a topic docs/mqtt.md does not describe: ${topic}`);
      const validate = ajv.getSchema(`https://herald.example/schemas/mqtt.json#/definitions/${definition}`)!;
      const ok = validate(JSON.parse(payload));
      assert.ok(ok, `${topic} (${definition}): ${JSON.stringify(validate.errors)}\n${payload.slice(0, 400)}`);
      kinds.add(definition);
    }
    for (const d of ['agentState', 'deviceRecord', 'event', 'bridgeState', 'bridgeInfo', 'bridgeDevices']) {
      assert.ok(kinds.has(d), `${d} was seen`);
    }
    for (const d of ['request', 'response', 'haAgentConfig', 'haDeviceConfig'])
      assert.ok(kinds.has(d), `${d} was seen`);
  } finally {
    await watcher.endAsync();
    for (const p of running) await p.stop('SIGKILL');
    await broker.destroy();
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
