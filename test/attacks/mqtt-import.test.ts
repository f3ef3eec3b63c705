import { readFile } from 'node:fs/promises';
import mqttPkg from 'mqtt';
import { request } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mosquitto, mosquittoMissing } from '../helpers/mosquitto.js';
import { mqttAgentArgs } from '../helpers/mqtt-agent.js';
import { runHerald, unitNodeFlags } from '../helpers/process.js';
import { testIf } from '../helpers/requirements.js';
import { Directory } from '../../src/directory/directory.js';
import { createHeraldMetrics } from '../../src/metrics/herald-metrics.js';
import { SiteImport } from '../../src/mqtt/site-import.js';
import { FakeClock } from '../../src/util/clock.js';
import { seededRandom, type Random } from '../../src/util/random.js';

/**
 * Issue 16 item 11: 20,000 retained records under one imported site. Before, each message copied the
 * imported agent's map and diffed every device (quadratic): the agent was wedged for minutes, past
 * its watchdog, deaf to SIGTERM, and no cap applied. Now it stays responsive, holds what its bounds
 * allow, counts the rest, and stops on SIGTERM.
 */
const test = suite('attack: a flood of retained records under an imported site');
const missing = mosquittoMissing();

function record(id: string): string {
  return JSON.stringify({
    id,
    name: `Device ${id}`,
    tags: ['flood'],
    names: [],
    capabilities: [{ id: 'state', kind: 'property', endpoint: `http://10.9.0.1:8080/${id}` }],
  });
}

/** 1,100 devices for one agent (past the per-agent cap) and 18,900 over 19 more (past the total cap). */
async function flood(url: string): Promise<void> {
  const client = await mqttPkg.connectAsync(url, { protocolVersion: 5 });
  try {
    const put = (topic: string, payload: string) => client.publish(topic, payload, { qos: 0, retain: true });
    // Malformed records first: past the caps records are refused before they are parsed.
    put('herald/far/devices/bad/junk', 'not json {');
    put('herald/far/devices/bad/huge', JSON.stringify({ id: 'huge', name: 'x'.repeat(100_000) }));
    for (let i = 0; i < 1100; i++) put(`herald/far/devices/big/d${i}`, record(`d${i}`));
    for (let a = 0; a < 19; a++) for (let i = 0; i < 995; i++) put(`herald/far/devices/a${a}/d${i}`, record(`d${i}`));
    await client.publishAsync('herald/far/devices/bad/last', record('last'), { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

testIf(
  test,
  missing,
  'the agent stays live, holds what its bounds allow, counts the rest, stops on SIGTERM',
  async () => {
    const broker = new Mosquitto();
    await broker.start();
    let agent: ReturnType<typeof runHerald> | undefined;
    try {
      await flood(broker.url);
      const flags = unitNodeFlags(await readFile('systemd/herald.service', 'utf8'));
      agent = runHerald(
        mqttAgentArgs({
          name: 'near-1',
          site: 'near',
          url: broker.url,
          profiles: 'device-profiles',
          extra: ['--mqtt-import', 'far'],
        }),
        { nodeFlags: flags },
      );
      const running = agent;
      const started = await running.waitFor(() => running.logs().find((l) => l.msg === 'agent started'), 10_000);
      const api = `http://${String(started.api)}`;
      let worstLivezMs = 0;
      let held = 0;
      let metrics = '';
      const deadline = Date.now() + 60_000;
      for (;;) {
        const t0 = performance.now();
        const res = await request(`${api}/livez`, { headersTimeout: 10_000 });
        await res.body.dump();
        worstLivezMs = Math.max(worstLivezMs, performance.now() - t0);
        metrics = await (await request(`${api}/metrics`)).body.text();
        const now = metric(metrics, 'herald_mqtt_imported_devices');
        if (
          now === held &&
          now > 0 &&
          metric(metrics, 'herald_invalid_input_total', '{source="mqtt",reason="device-json"}')
        )
          break;
        held = now;
        if (Date.now() > deadline) throw new Error(`import did not settle: ${now} devices held`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const rssMiB = metric(metrics, 'herald_process_resident_memory_bytes') / 2 ** 20;
      console.log(
        `  imported ${held} devices; worst /livez ${worstLivezMs.toFixed(0)} ms; RSS ${rssMiB.toFixed(0)} MiB`,
      );
      // Measured 77-79 MiB: the flood's 20,000 messages in flight, more than the 5,000 devices held (see docs/mqtt.md).
      assert.ok(rssMiB < 90, `memory stays bounded with 5,000 imported devices (RSS ${rssMiB.toFixed(0)} MiB)`);
      assert.is(held, 5_000, 'the total cap of imported devices');
      assert.ok(metric(metrics, 'herald_mqtt_import_refused_total', '{reason="devices"}') >= 9_000, 'refusals counted');
      assert.ok(metric(metrics, 'herald_mqtt_import_refused_total', '{reason="record-bytes"}') >= 1, 'oversize record');
      const agents = (await (await request(`${api}/v1/agents`)).body.json()) as {
        agents: { name: string; devices: number }[];
      };
      const big = agents.agents.find((a) => a.name === 'big@far');
      assert.ok(!big || big.devices <= 1024, `per-agent cap: ${big?.devices}`);
      assert.ok(
        // Far inside WatchdogSec=20s; generous for a shared 2-core machine (100-600 ms typical, before: no answer in 10 s).
        worstLivezMs < 3_000,
        `/livez answered within 3 s throughout (worst ${worstLivezMs.toFixed(0)} ms)`,
      );
      const t0 = Date.now();
      assert.is(await running.stop('SIGTERM'), 0, 'a clean exit on SIGTERM');
      assert.ok(Date.now() - t0 < 5_000, 'SIGTERM honoured within 5 s');
    } finally {
      await agent?.stop('SIGKILL');
      await broker.destroy();
    }
  },
);

/** A JSON value of a random shape: what a hostile publisher may put where a record belongs. */
function junk(random: Random, depth = 0): unknown {
  const r = random();
  if (depth > 3 || r < 0.2) return [null, true, -1, 1e308, '', 'x'.repeat(200), '__proto__'][Math.floor(random() * 7)];
  if (r < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => junk(random, depth + 1));
  const keys = [
    'id',
    'name',
    'tags',
    'names',
    'capabilities',
    'kind',
    'endpoint',
    '__proto__',
    'constructor',
    'origin',
  ];
  return Object.fromEntries(keys.filter(() => random() < 0.4).map((k) => [k, junk(random, depth + 1)]));
}

test('fuzz: imported payloads of every shape never throw, and only valid records are held', async () => {
  const random = seededRandom(Number(process.env.HERALD_FUZZ_SEED ?? 20261126));
  const clock = new FakeClock();
  const directory = new Directory({ clock }, { site: 'near' });
  const metrics = createHeraldMetrics();
  let bad = 0;
  const siteImport = new SiteImport(
    {
      clock,
      directory,
      badInput: () => (bad += 1),
      refused: metrics.registry.counter('refused_total', 'refusals', ['reason']),
      onRefused: () => {},
    },
    ['far'],
  );
  const valid = record('ok');
  for (let i = 0; i < 5_000; i++) {
    const r = random();
    const payload =
      r < 0.3
        ? JSON.stringify(junk(random))
        : r < 0.5
          ? valid.slice(0, Math.floor(random() * valid.length))
          : r < 0.6
            ? '['.repeat(100_000)
            : r < 0.8
              ? JSON.stringify({
                  ...(JSON.parse(valid) as object),
                  [['name', 'tags', 'capabilities'][i % 3]]: junk(random),
                })
              : record(`ok${i % 50}`);
    const agent = `a${Math.floor(random() * 5)}`;
    if (random() < 0.05) siteImport.enqueue('far', agent, undefined, Buffer.from(payload));
    else siteImport.enqueue('far', agent, r < 0.8 ? 'ok' : `ok${i % 50}`, Buffer.from(payload));
  }
  await clock.advance(10_000);
  assert.ok(bad > 1_000, `malformed payloads counted (${bad})`);
  for (const d of directory.devices({ site: 'far' })) assert.match(d.id, /^ok\d*$/, 'only valid records are held');
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test.run();
