import { writeFileSync } from 'node:fs';
import { Deliveries, lcg, now, sleep, waitFor, type Missed } from '../harness.js';
import { changedDevices, type BenchCluster } from '../system.js';
import { summarize } from '../stats.js';
import { explainMisses, settleUnseen, udpCounters, udpDelta } from './miss-diagnosis.js';
import { changeTiming, type ChangeTiming } from './change-timing.js';
import type { ProcessCluster } from './process-cluster.js';

/** Changes on a scale site: how fast each reaches every other agent, and how many never did. */

export interface ChangeFigures {
  loss: number;
  changes: number;
  /**
   * Over (viewer, change) pairs, nothing undelivered. Child processes: from the change made at its origin to the
   * viewer's directory holding it, both read in the children on the host's monotonic clock (timing.appliedP99Ms);
   * otherwise, and in `p99BenchMs` beside it, as the bench's mirror heard it.
   */
  p99Ms: number;
  /**
   * Child processes only: the figure p99Ms was before change13, timed in the bench from its IPC call to the
   * origin's child to the child's IPC report of the viewer's holding, batched once a turn of its loop: the
   * harness's IPC and both loops' queues on top of the change's own time.
   */
  p99BenchMs?: number;
  undelivered: number;
  /** Which changes were not delivered, to whom, and what those agents held: present only when some were not. */
  missed?: Missed[];
  datagramsPerChange: number;
  /**
   * The kernel's UDP counters over the phase (/proc/net/snmp, the whole namespace: other runs beside this one
   * count too): RcvbufErrors are datagrams dropped on a full socket buffer, a loss on top of the one injected.
   */
  udp?: Record<string, number>;
  /**
   * Viewer-change pairs the bench's mirror never saw delivered though the viewer held the version when the phase
   * gave up, by the state it held the origin in (`lost`: applied without a directory event): delivered, not
   * counted undelivered, their latency unknown (scale/miss-diagnosis.ts settleUnseen).
   */
  heldUnseen?: Record<string, number>;
  /** Child processes only: the change's time in the children, without the bench's IPC (change-timing.ts). */
  timing?: ChangeTiming;
}

const CHANGES = 20;
const INTERVAL_MS = 50;
const GIVE_UP_MS = 20_000;
/** No new change after this: on a machine too loaded to make 20 changes in 20 s, the phase still ends. */
const MAKE_WITHIN_MS = 20_000;

/**
 * What the changes of one site have done so far. Shared by every loss phase of a run: a phase that
 * started again from revision 0 and the same seed would hand each origin the device set it already
 * serves, a change that changes nothing (no announcement, nothing to deliver).
 */
export class ChangeSequence {
  readonly revision: number[];
  /** The version each origin's last change returned (0 before its first). */
  readonly version: number[];
  private readonly random = lcg(18);

  constructor(agents: number) {
    this.revision = new Array<number>(agents).fill(0);
    this.version = new Array<number>(agents).fill(0);
  }

  /** The next origin, its device revision already advanced. */
  next(): number {
    const i = Math.floor(this.random() * this.revision.length);
    this.revision[i] += 1;
    return i;
  }
}

/** A change that advanced no version or sent no change datagram: the step would be measuring nothing. */
export class NoOpChangeError extends Error {
  constructor(what: string) {
    super(`scale step: ${what}, so it changed nothing`);
    this.name = 'NoOpChangeError';
  }
}

/** CHANGES changes of one device each (of ten), on origins drawn from `seq`, INTERVAL_MS apart. */
export async function changeP99(c: BenchCluster, loss: number, seq: ChangeSequence): Promise<ChangeFigures> {
  const deliveries = new Deliveries(c);
  c.onProgress((viewer, origin) => deliveries.check(viewer, origin));
  const sweep = setInterval(() => deliveries.sweep(), 20);
  await c.refresh?.();
  const pc = 'timings' in c ? (c as ProcessCluster) : undefined;
  await pc?.timings(true);
  const before = c.traffic();
  const udpBefore = udpCounters();
  const t0 = now();
  let made = 0;
  try {
    for (; made < CHANGES && now() - t0 < MAKE_WITHIN_MS; made++) {
      // Agent 0 is the one the crash takes later; it changes too, like any other.
      const i = seq.next();
      const r = seq.revision[i];
      const at = now();
      const version = await c.change(i, changedDevices(c.names[i], r, r, 10));
      if (version <= seq.version[i]) throw new NoOpChangeError(`the change on ${c.names[i]} left it at ${version}`);
      seq.version[i] = version;
      const p = deliveries.expect(i, version, at);
      for (const v of [...p.waiting]) deliveries.check(v, c.names[i]);
      // INTERVAL_MS from one change's command to the next: the interval is not stretched by how late the origin's
      // child answers (a child of the scale step answers once it has read its own copies of the change).
      await sleep(Math.max(0, INTERVAL_MS - (now() - at)));
    }
    await waitFor(() => deliveries.settled(GIVE_UP_MS), GIVE_UP_MS + 1000, 10);
  } finally {
    clearInterval(sweep);
  }
  const timings = await pc?.timings(false);
  // HERALD_SCALE_TIMINGS=file: the children's raw stamps of the phase, for a look at which pairs were late.
  const dump = process.env.HERALD_SCALE_TIMINGS;
  if (dump && timings) writeFileSync(`${dump}-${c.names.length}-${loss}.json`, JSON.stringify(timings));
  const unseen = await settleUnseen(c, deliveries);
  const undelivered = deliveries.undelivered();
  const udp = udpDelta(udpBefore);
  const missed = undelivered > 0 ? await explainMisses(c, deliveries.missed()) : [];
  for (const m of missed) m.udp = udp;
  await c.refresh?.();
  const datagramsPerChange = (c.traffic().changeDatagrams - before.changeDatagrams) / made;
  // Every system sends at least one change datagram per real change (Herald an announcement, SWIM its
  // queued news), whatever the loss: fewer means some changes were no-ops.
  if (datagramsPerChange < 1) throw new NoOpChangeError(`${datagramsPerChange} change datagrams a change`);
  const timing = timings && changeTiming(timings, c.names);
  // A phase whose children stamped nothing (no event seen) keeps the mirror's figure rather than none.
  const timed = timing && timing.pairs > 0 ? timing.appliedP99Ms : undefined;
  const mirrored = summarize(deliveries.latencies).p99;
  return {
    loss,
    changes: made,
    p99Ms: undelivered > 0 ? Infinity : (timed ?? mirrored),
    ...(timed !== undefined && { p99BenchMs: undelivered > 0 ? Infinity : mirrored }),
    undelivered,
    ...(undelivered > 0 ? { missed } : {}),
    datagramsPerChange,
    udp,
    ...(Object.keys(unseen).length > 0 ? { heldUnseen: unseen } : {}),
    ...(timing && { timing }),
  };
}
