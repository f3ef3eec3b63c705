import type { Device } from '../../src/profiles/model.js';
import { parseKeyRing } from '../../src/security/cluster-key.js';
import type { SyncView } from '../../src/sync/sync-view.js';
import type { ClusterOptions, Traffic } from '../system.js';
import { heraldSlice, startStaggered, type HeraldMember } from '../systems/herald.js';
import { GcPauses, type GcPause } from './gc-pauses.js';
import { HeldReport } from './held-report.js';
import { afterOwnCopies } from './after-copies.js';
import { LoopMeter, type ProcessLoad } from './loop-meter.js';
import { PhaseProfile } from './phase-profile.js';

/**
 * A child process running agents `from` to `to` - 1 of a Herald site (the scale step's 200 agents
 * as 2-4 such children, not one event loop). It reports what each of its agents holds of each origin
 * as it changes, and its traffic and load when asked; the bench process keeps the mirror.
 */

export type WorkerCommand =
  | { t: 'start'; opts: ClusterOptions; heartbeatScaling: boolean; key?: string; from: number; to: number }
  | { t: 'change'; id: number; i: number; devices: Device[] }
  | { t: 'crash'; id: number; i: number }
  | { t: 'loss'; id: number; loss: number }
  | { t: 'traffic'; id: number }
  | { t: 'load'; id: number }
  | { t: 'counters'; id: number }
  | { t: 'inspect'; id: number; i: number; origin: string }
  | { t: 'timings'; id: number; on: boolean }
  | { t: 'stop'; id: number };

/** viewer, origin, version held, state ('' when not held). */
export type HeldRow = [number, string, number, string];

export type WorkerReport =
  | { t: 'ready' }
  | { t: 'started'; versions: [number, number][] }
  | { t: 'held'; rows: HeldRow[] }
  | { t: 'reply'; id: number; value: number | Traffic | ProcessLoad | SiteCounters | SyncView | ChangeTimings | null };

type Slice = ReturnType<typeof heraldSlice>;

/** The site's key, made by the bench process for a keyed system (`herald-keyed`): none for an open site. */
const keysOf = (key: string | undefined) => (key === undefined ? undefined : parseKeyRing(key, 'the bench'));

/**
 * When, on the host's monotonic clock (ms, sub-millisecond), each change was made at its origin (the bench's
 * command taken, before the reload), when it left (the reload done: the announcement sent), and when each
 * viewer's directory applied a version: where a change's time goes, without the IPC to the bench and its
 * mirror (change-timing.ts). Kept only from a `timings` command with `on` to the next, which takes them: a
 * cold start's events would grow the RSS the idle window measures.
 */
export interface ChangeTimings {
  on?: boolean;
  /** origin index, version, made at, sent at */
  sent: [number, number, number, number][];
  /** viewer index, origin name, version, applied at */
  applied: [number, string, number, number][];
  /** The child's garbage-collection pauses while on: start, duration ms, scavenge or not (gc-pauses.ts). */
  gc?: GcPause[];
  /** The child's young generation (MiB) when the timings were taken (gc-pauses.ts youngMiB). */
  youngMiB?: number;
}

/**
 * process.hrtime is CLOCK_MONOTONIC (libuv's uv_hrtime), one clock for every process of the host, so the
 * origin's child and a viewer's child read the same time. `performance.timeOrigin + performance.now()`, used
 * before, adds each process's own wall-clock reading at its start to its monotonic time since: two children
 * differ by whatever NTP slewed between their starts and the gap between the two reads.
 */
const monoNow = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * The same clock for the stamp taken on every directory event of a timed phase: performance.now() counts on it from
 * the process's start, so one offset read at start makes it monoNow() without a BigInt made and converted per event
 * (change19: 0.1-1.2 against 1.3-1.6 µs a call, load 11).
 */
function eventClock(): () => number {
  const offset = monoNow() - performance.now();
  return () => performance.now() + offset;
}

/** The counters that say what a phase's work was, summed over agents (`name{labels}` -> value), and the busiest server. */
export interface SiteCounters {
  sums: Record<string, number>;
  maxServedChanges: number;
}

const COUNTED = [
  'announcementsSent',
  'announcementsIgnored',
  'peerRequestsServed',
  'catchupRequests',
  'bulkAsks',
  'bulkHeld',
  'firstCopies',
  'livenessProbes',
  'lostNotices',
  'gapsDetected',
  'livenessChecks',
  'livenessCheckSilence',
  'viewExchanges',
  'announceChallenges',
  'invalidInput',
  'decodeErrors',
] as const;

function counters(slice: Slice): SiteCounters {
  const sums: Record<string, number> = {};
  let maxServedChanges = 0;
  for (const [i, m] of slice.made) {
    if (slice.nodes.nodes[i].crashed) continue;
    for (const name of COUNTED) {
      for (const [series, value] of m.agent.metrics[name].series()) {
        const key = series.replace(/^herald_/, '');
        sums[key] = (sums[key] ?? 0) + value;
      }
    }
    const served = m.agent.metrics.peerRequestsServed.get({ route: 'changes', status: '200' });
    maxServedChanges = Math.max(maxServedChanges, served);
  }
  return { sums, maxServedChanges };
}

/** Nothing once the bench is gone: the child is on its way out (see serve). */
const send = (r: WorkerReport) => {
  if (process.connected) process.send!(r);
};

function traffic(slice: Slice): Traffic {
  const announced = (m: HeraldMember) =>
    m.agent.metrics.announcementsSent.get({ type: 'announce' }) +
    m.agent.metrics.announcementsSent.get({ type: 'mdns' });
  const changeDatagrams = [...slice.made.values()].reduce((n, m) => n + announced(m), 0);
  return { ...slice.nodes.traffic, changeDatagrams };
}

type Running = Slice & { timings: ChangeTimings; gc: GcPauses; prof: PhaseProfile };

async function start(cmd: Extract<WorkerCommand, { t: 'start' }>): Promise<Running> {
  const slice = {
    ...heraldSlice(cmd.opts, { heartbeatScaling: cmd.heartbeatScaling, keys: keysOf(cmd.key) }, cmd.from, cmd.to),
    timings: { sent: [], applied: [] },
    gc: new GcPauses(monoNow),
    prof: new PhaseProfile(process.env.HERALD_SCALE_PHASE_PROF),
  };
  const report = new HeldReport(
    (v, o) => slice.made.get(v)?.agent.directory.held(o),
    slice.timings,
    (rows) => send({ t: 'held', rows }),
    eventClock(),
  );
  slice.nodes.cluster().onProgress(report.progressed);
  await Promise.all([...slice.made].map(([i, m]) => startStaggered(cmd.opts, i, () => m.agent.start())));
  send({ t: 'started', versions: [...slice.made].map(([i, m]) => [i, m.agent.local.currentVersion]) });
  return slice;
}

async function answer(slice: Running, meter: LoopMeter, cmd: Exclude<WorkerCommand, { t: 'start' }>) {
  switch (cmd.t) {
    case 'change': {
      const m = slice.made.get(cmd.i)!;
      const madeAt = monoNow();
      m.source.set(cmd.devices);
      await m.agent.reload('bench');
      const version = m.agent.local.currentVersion;
      if (slice.timings.on) slice.timings.sent.push([cmd.i, version, madeAt, monoNow()]);
      await afterOwnCopies();
      return version;
    }
    case 'timings': {
      slice.timings.on = cmd.on;
      const gc = slice.gc.take();
      if (cmd.on) slice.gc.start();
      else slice.gc.stop();
      await (cmd.on ? slice.prof.start() : slice.prof.stop());
      const youngMiB = slice.gc.youngMiB();
      return { sent: slice.timings.sent.splice(0), applied: slice.timings.applied.splice(0), gc, youngMiB };
    }
    case 'crash': {
      slice.nodes.nodes[cmd.i].crashed = true;
      // Its sockets close at once; a loaded server may take long to drain, which a crash does not wait for.
      // The answer says when it crashed: the bench's crash clock starts there (crash-times.ts).
      const closedAt = Date.now();
      const stopped = slice.made.get(cmd.i)!.agent.stop({ goodbye: false });
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 1000))]);
      return closedAt;
    }
    case 'loss':
      // Every agent's transport reads the options' loss on each datagram.
      slice.opts.loss = cmd.loss;
      return null;
    case 'traffic':
      return traffic(slice);
    case 'load':
      return meter.sample();
    case 'counters':
      return counters(slice);
    case 'inspect':
      return slice.made.get(cmd.i)?.agent.inspectSync(cmd.origin) ?? null;
    case 'stop': {
      const live = [...slice.made].filter(([i]) => !slice.nodes.nodes[i].crashed);
      await Promise.all(live.map(([, m]) => m.agent.stop({ goodbye: false })));
      meter.stop();
      return null;
    }
  }
}

function serve(): void {
  let slice: Promise<Running> | undefined;
  let meter: LoopMeter | undefined;
  process.on('message', (cmd: WorkerCommand) => {
    if (cmd.t === 'start') {
      meter = new LoopMeter(`agents ${cmd.from}-${cmd.to - 1}`);
      slice = start(cmd);
      return;
    }
    void slice!
      .then((s) => answer(s, meter!, cmd))
      .then((value) => {
        send({ t: 'reply', id: cmd.id, value });
        if (cmd.t === 'stop') process.exit(0);
      });
  });
  // An orphan would keep its agents on the group: it goes with the bench.
  process.on('disconnect', () => process.exit(0));
  send({ t: 'ready' });
}

serve();
