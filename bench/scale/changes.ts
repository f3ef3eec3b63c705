import { Deliveries, lcg, now, sleep, waitFor } from '../harness.js';
import { changedDevices, type BenchCluster } from '../system.js';
import { summarize } from '../stats.js';

/** Changes on a scale site: how fast each reaches every other agent, and how many never did. */

export interface ChangeFigures {
  loss: number;
  changes: number;
  p99Ms: number;
  undelivered: number;
  datagramsPerChange: number;
}

const CHANGES = 20;
const INTERVAL_MS = 50;
const GIVE_UP_MS = 20_000;

/** CHANGES changes of one device each (of ten), on origins drawn from a fixed seed, INTERVAL_MS apart. */
export async function changeP99(c: BenchCluster, loss: number): Promise<ChangeFigures> {
  const deliveries = new Deliveries(c);
  c.onProgress((viewer, origin) => deliveries.check(viewer, origin));
  const sweep = setInterval(() => deliveries.sweep(), 20);
  const before = c.traffic();
  const revision = new Array<number>(c.names.length).fill(0);
  const random = lcg(18);
  try {
    for (let k = 0; k < CHANGES; k++) {
      // Agent 0 is the one the crash takes later; it changes too, like any other.
      const i = Math.floor(random() * c.names.length);
      revision[i] += 1;
      const at = now();
      const version = await c.change(i, changedDevices(c.names[i], revision[i], revision[i], 10));
      const p = deliveries.expect(i, version, at);
      for (const v of [...p.waiting]) deliveries.check(v, c.names[i]);
      await sleep(INTERVAL_MS);
    }
    await waitFor(() => deliveries.settled(GIVE_UP_MS), GIVE_UP_MS + 1000, 10);
  } finally {
    clearInterval(sweep);
  }
  const undelivered = deliveries.undelivered();
  const after = c.traffic();
  return {
    loss,
    changes: CHANGES,
    p99Ms: undelivered > 0 ? Infinity : summarize(deliveries.latencies).p99,
    undelivered,
    datagramsPerChange: (after.changeDatagrams - before.changeDatagrams) / CHANGES,
  };
}
