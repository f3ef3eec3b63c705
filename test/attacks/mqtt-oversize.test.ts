/**
 * Attack on the MQTT bridge through the broker: any client allowed to publish under the base leaves
 * retained messages on the agent's own topics, which the agent reads back after every connect to bring
 * the broker in step. A real Mosquitto and a real agent process; the agent's peak RSS (VmHWM) is what a
 * host with 512 MB would feel.
 */
import { readFile } from 'node:fs/promises';
import mqttPkg from 'mqtt';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mosquitto, mosquittoMissing } from '../helpers/mosquitto.js';
import { mqttAgentArgs } from '../helpers/mqtt-agent.js';
import { runHerald, type Running } from '../helpers/process.js';
import { testIf } from '../helpers/requirements.js';

const test = suite('MQTT: oversized and piled-up retained messages on the agent own topics');
const missing = mosquittoMissing();
let broker: Mosquitto | undefined;
let agent: Running | undefined;

test.after.each(async () => {
  await agent?.stop('SIGKILL').catch(() => {});
  agent = undefined;
  await broker?.destroy();
  broker = undefined;
});

const MB = 1024 * 1024;

async function publishRetained(url: string, messages: [string, Buffer][]): Promise<void> {
  const client = await mqttPkg.connectAsync(url, { protocolVersion: 5 });
  for (const [topic, payload] of messages) await client.publishAsync(topic, payload, { qos: 1, retain: true });
  await client.endAsync();
}

async function retainedTopics(url: string, filter: string): Promise<string[]> {
  const client = await mqttPkg.connectAsync(url, { protocolVersion: 5 });
  const out: string[] = [];
  client.on('message', (topic, payload, packet) => packet.retain && payload.length > 0 && out.push(topic));
  await client.subscribeAsync(filter);
  await new Promise((r) => setTimeout(r, 500));
  await client.endAsync();
  return out;
}

/** Starts the agent and waits for its read-back; returns the report it logged and its peak RSS in MB. */
async function startAndSync(name: string, site: string): Promise<{ report: Record<string, unknown>; peakMb: number }> {
  agent = runHerald(mqttAgentArgs({ name, site, url: broker!.url, profiles: 'device-profiles' }));
  const running = agent;
  const report = await running.waitFor(
    () => running.logs().find((l) => l.msg === 'MQTT state in step with the directory'),
    20_000,
    'the MQTT read-back',
  );
  const status = await readFile(`/proc/${running.proc.pid}/status`, 'utf8');
  const peakMb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
  console.log(`  agent peak RSS (VmHWM) ${peakMb.toFixed(0)} MB; read-back ${JSON.stringify(report)}`);
  return { report, peakMb };
}

testIf(test, missing, 'one 96 MB retained message on its bridge state topic does not reach the agent', async () => {
  // Before: a 150 MB message took the agent from 74 to 522 MB resident at each connect (3.5x the payload:
  // mqtt-packet's buffer list, the payload, its string). Now the agent's CONNECT says it takes packets of at
  // most 16 MiB and the broker drops the message for it (Mosquitto logs "Dropping too large outgoing PUBLISH").
  broker = new Mosquitto();
  await broker.start();
  const site = `big${process.pid}`;
  await publishRetained(broker.url, [[`herald/${site}/bridge/state/pi-big`, Buffer.alloc(96 * MB, 'x')]]);
  const { peakMb } = await startAndSync('pi-big', site);
  assert.ok(peakMb < 160, `peak RSS ${peakMb.toFixed(0)} MB with a 96 MB retained message (about 75 without)`);
  const live = await fetch(`http://${apiOf(agent!)}/livez`);
  assert.is(live.status, 200);
});

testIf(test, missing, 'retained messages under the bound piled on its devices topic: held as digests', async () => {
  // Each is under the 16 MiB bound, so the broker sends them all; the read-back kept every payload as a
  // string until it had compared them with what it wants (12 x 8 MiB: about 100 MB more). It keeps a
  // digest now; the messages are still cleared, as anything retained there that the agent does not offer.
  broker = new Mosquitto();
  await broker.start();
  const site = `pile${process.pid}`;
  const junk = Array.from({ length: 12 }, (_, i): [string, Buffer] => [
    `herald/${site}/devices/pi-pile/junk-${i}`,
    Buffer.alloc(8 * MB, String.fromCharCode(97 + i)),
  ]);
  await publishRetained(broker.url, junk);
  const { report, peakMb } = await startAndSync('pi-pile', site);
  assert.ok((report.cleared as number) >= 12, `cleared ${String(report.cleared)}`);
  assert.ok(peakMb < 160, `peak RSS ${peakMb.toFixed(0)} MB with 12 x 8 MiB retained (about 75 without)`);
  const left = await retainedTopics(broker.url, `herald/${site}/devices/pi-pile/#`);
  assert.equal(
    left.filter((t) => t.includes('/junk-')),
    [],
    'the junk is cleared from the broker',
  );
});

/** The API address the agent logged at start. */
function apiOf(run: Running): string {
  const started = run.logs().find((l) => l.msg === 'agent started');
  return String(started?.api);
}

test.run();
