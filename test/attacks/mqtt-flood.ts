/**
 * The attacker's publisher for the MQTT import flood, run inside a namespace of the attack site:
 *   node dist/test/attacks/mqtt-flood.js <broker url> <site>
 * It publishes 20,006 retained records under `herald/<site>/devices/`: two malformed ones, 1,100 for one
 * agent (past the per-agent cap), 18,900 over 19 more (past the total cap), and a last one at QoS 1, so
 * that the broker holds them all when it exits. It waits for the broker to listen (up to 5 s).
 */
import { pathToFileURL } from 'node:url';
import mqttPkg from 'mqtt';

export const FLOOD_RECORDS = 2 + 1_100 + 19 * 995 + 1;

export function floodRecord(id: string): string {
  return JSON.stringify({
    id,
    name: `Device ${id}`,
    tags: ['flood'],
    names: [],
    capabilities: [{ id: 'state', kind: 'property', endpoint: `http://10.9.0.1:8080/${id}` }],
  });
}

async function connect(url: string): Promise<mqttPkg.MqttClient> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await mqttPkg.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 1_000 });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function flood(url: string, site: string): Promise<void> {
  const client = await connect(url);
  try {
    const put = (topic: string, payload: string) => client.publish(topic, payload, { qos: 0, retain: true });
    const at = `herald/${site}/devices`;
    // Malformed records first: past the caps a record is refused before it is parsed.
    put(`${at}/bad/junk`, 'not json {');
    put(`${at}/bad/huge`, JSON.stringify({ id: 'huge', name: 'x'.repeat(100_000) }));
    for (let i = 0; i < 1100; i++) put(`${at}/big/d${i}`, floodRecord(`d${i}`));
    for (let a = 0; a < 19; a++) for (let i = 0; i < 995; i++) put(`${at}/a${a}/d${i}`, floodRecord(`d${i}`));
    await client.publishAsync(`${at}/bad/last`, floodRecord('last'), { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

// Imported by the test for its figures, run as a script in the attacker's namespace.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [url, site] = process.argv.slice(2);
  await flood(url, site);
}
