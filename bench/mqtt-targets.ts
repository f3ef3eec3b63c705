import mqttPkg, { type MqttClient } from 'mqtt';
import { MqttBridge } from '../src/mqtt/bridge.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { now, sleep } from './harness.js';
import { fullGc, summarize } from './stats.js';
import { changedDevices, type BenchCluster } from './system.js';
import { startHerald } from './systems/herald.js';

export interface MqttResults {
  p99Ms: number;
  p50Ms: number;
  baselineP99Ms: number;
  outageSeconds: number;
  heapGrowthMiB: number;
  rssGrowthMiB: number;
  samples: number;
  ghostsAfter: number;
}

type Site = Awaited<ReturnType<typeof startHerald>>;

/** Ten agents on the LAN; agent 0 is the gateway, bridging the site to the broker. */
function gatewaySite(broker: Mosquitto, port: number): Promise<Site> {
  const bridge = () =>
    new MqttBridge({
      url: broker.url,
      base: 'herald',
      protocol: '5',
      mode: 'gateway',
      homeAssistant: false,
      importSites: [],
      retainedWindowMs: 300,
    });
  return startHerald({ agents: 10, devicesPerAgent: 5, loss: 0, heartbeatMs: 1000, seed: 6, port }, 'multicast', {
    extensions: (i) => (i === 0 ? [bridge()] : []),
  });
}

/** Change k, on agents 1 to 9 in turn: one device of five gets revision `base + k`. */
function changeOf(site: BenchCluster, k: number, base: number): Promise<number> {
  const i = 1 + (k % 9);
  const name = site.names[i];
  return site.change(i, changedDevices(name, k, base + k));
}

/** From a change on a LAN agent to its record at a subscriber of the broker, for each of `changes`. */
async function latencyToBroker(site: Site, sub: MqttClient, siteName: string, changes: number): Promise<number[]> {
  const arrivals = new Map<string, number>();
  sub.on('message', (topic, payload) => {
    if (payload.length === 0 || !topic.startsWith('herald/')) return;
    const rec = JSON.parse(payload.toString()) as { agent: string; origin: { version: number } };
    arrivals.set(`${rec.agent}:${rec.origin.version}`, now());
  });
  await sub.subscribeAsync(`herald/${siteName}/devices/#`);
  await sleep(1000);
  const latencies: number[] = [];
  for (let k = 0; k < changes; k++) {
    const name = site.names[1 + (k % 9)];
    const t0 = now();
    const v = await changeOf(site, k, 1);
    const deadline = Date.now() + 2000;
    while (!arrivals.has(`${name}:${v}`) && Date.now() < deadline) await sleep(0.5);
    latencies.push((arrivals.get(`${name}:${v}`) ?? Infinity) - t0);
    await sleep(20);
  }
  return latencies;
}

/** Baseline: publish and receive through the same broker, nothing else. */
async function brokerRoundTrips(broker: Mosquitto, sub: MqttClient): Promise<number[]> {
  const base: number[] = [];
  const sent = new Map<string, number>();
  sub.on('message', (topic) => {
    if (topic === 'bench/echo') base.push(now() - (sent.get('last') ?? now()));
  });
  await sub.subscribeAsync('bench/echo');
  const pub = await mqttPkg.connectAsync(broker.url);
  for (let k = 0; k < 100; k++) {
    sent.set('last', now());
    await pub.publishAsync('bench/echo', String(k), { qos: 1 });
    await sleep(5);
  }
  await pub.endAsync();
  return base;
}

/** Live heap (after a full GC) and RSS, every 2.5 s, while the broker is away and changes go on. */
async function outageMemory(
  broker: Mosquitto,
  outageSeconds: number,
  change: () => Promise<void>,
): Promise<{ heap: number[]; rss: number[] }> {
  await broker.stop();
  await sleep(500);
  const heap: number[] = [];
  const rss: number[] = [];
  const sample = async () => {
    await fullGc();
    heap.push(process.memoryUsage().heapUsed / 2 ** 20);
    rss.push(process.memoryUsage().rss / 2 ** 20);
  };
  await sample();
  const t0 = Date.now();
  let lastSample = t0;
  while (Date.now() - t0 < outageSeconds * 1000) {
    await change();
    if (Date.now() - lastSample >= 2500) {
      await sample();
      lastSample = Date.now();
    }
    await sleep(50);
  }
  await sample();
  return { heap, rss };
}

async function retainedRecords(broker: Mosquitto, siteName: string): Promise<Map<string, string>> {
  const c = await mqttPkg.connectAsync(broker.url);
  const seen = new Map<string, string>();
  c.on('message', (t, p, pkt) => pkt.retain && p.length > 0 && seen.set(t, p.toString()));
  await c.subscribeAsync(`herald/${siteName}/devices/#`);
  await sleep(500);
  await c.endAsync();
  return seen;
}

/** Retained records no device stands behind, once the bridge has reconnected (backoff up to 30 s) and resynced. */
async function ghostsAfterReturn(site: Site, broker: Mosquitto, siteName: string): Promise<number> {
  let ghosts = -1;
  const until = Date.now() + 40_000;
  while (Date.now() < until) {
    const seen = await retainedRecords(broker, siteName);
    const truth = new Map(
      site.agents[0].directory
        .devices({ site: siteName })
        .map((d) => [`herald/${siteName}/devices/${d.agent}/${d.id}`, d.origin.version]),
    );
    ghosts = [...seen.keys()].filter((t) => !truth.has(t)).length;
    const stale = [...seen].filter(
      ([t, p]) => truth.get(t) !== (JSON.parse(p) as { origin: { version: number } }).origin.version,
    ).length;
    if (ghosts === 0 && stale === 0 && seen.size === truth.size) break;
    await sleep(1000);
  }
  return ghosts;
}

/**
 * A device change on the LAN, through a gateway agent's bridge, to a subscriber of the broker; against
 * a bare MQTT.js publish-to-subscriber round trip in the same run. Then the broker goes away while
 * changes go on: memory is sampled, and after the broker returns no ghost is left.
 */
export async function mqttTargets(outageSeconds: number, changes: number): Promise<MqttResults> {
  const broker = new Mosquitto();
  await broker.start();
  const port = 34000 + (process.pid % 1000);
  const site = await gatewaySite(broker, port);
  const sub = await mqttPkg.connectAsync(broker.url, { reconnectPeriod: 0 });
  sub.on('error', (err) => {
    throw new Error(`bench subscriber: ${err.message}`);
  });
  try {
    const siteName = `b${port}`;
    const latencies = await latencyToBroker(site, sub, siteName, changes);
    const base = await brokerRoundTrips(broker, sub);
    // First fill what is bounded (change logs, event journals: 1,024 events per agent), so that the
    // outage shows growth, not bounded buffers reaching their size.
    let k = 0;
    const change = async () => {
      await changeOf(site, k++, 1000);
    };
    while (k < 1200) {
      await change();
      if (k % 50 === 0) await sleep(20);
    }
    await sub.endAsync(); // the bench's own subscriber is not needed, and would retry meanwhile
    const { heap, rss } = await outageMemory(broker, outageSeconds, change);
    await broker.start();
    const ghosts = await ghostsAfterReturn(site, broker, siteName);
    const growth = (xs: number[]) => xs[xs.length - 1] - xs[0];
    const s = summarize(latencies);
    return {
      p99Ms: s.p99,
      p50Ms: s.p50,
      baselineP99Ms: summarize(base).p99,
      outageSeconds,
      heapGrowthMiB: growth(heap),
      rssGrowthMiB: growth(rss),
      samples: heap.length,
      ghostsAfter: ghosts,
    };
  } finally {
    await sub.endAsync().catch(() => undefined);
    await site.stop();
    await broker.destroy();
  }
}
