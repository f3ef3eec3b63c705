import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Device } from '../../src/profiles/model.js';
import { generateKey } from '../../src/security/cluster-key.js';
import { agentName, emptyTraffic, type BenchCluster, type BenchSystem, type ClusterOptions } from '../system.js';
import type { Traffic } from '../system.js';
import { scaleChildFlags } from './child-flags.js';
import type { ProcessLoad } from './loop-meter.js';
import type { PairCount, UnheldPair } from './cold-curve.js';
import type { ChangeTimings, HeldRow, SiteCounters, WorkerCommand, WorkerReport } from './site-worker.js';

/**
 * A Herald site run as child processes of agents (site-worker.ts), seen by the bench as one cluster:
 * a mirror of what each agent holds, fed by the children's reports. The layout says how many agents
 * share a child: one, as a real site runs one agent per host, down to 50 (at most 4 children), the
 * layout before cold11, whose shared event loop accepts one catch-up connection a turn for all 50
 * agents (docs/benchmarks.md, "The 200 step's layout").
 */

const WORKER = fileURLToPath(new URL('./site-worker.js', import.meta.url));

/** How many agents share a child process, and how many children there are at most. */
export interface Layout {
  agentsPerProcess: number;
  maxProcesses?: number;
}

/** One agent per process, as a deployment runs them. */
export const AGENT_PER_PROCESS: Layout = { agentsPerProcess: 1 };
/** The layout before: 50 agents a child, at most 4 (200 agents are four children of 50). */
export const SHARED_LOOPS: Layout = { agentsPerProcess: 50, maxProcesses: 4 };

/** Children forked at once: 200 boots at once would each take the whole boot time of all. */
const FORKS_AT_ONCE = 8;
const STOP_GRACE_MS = 10_000;

export function processCount(agents: number, layout: Layout = AGENT_PER_PROCESS): number {
  const k = Math.max(1, Math.ceil(agents / layout.agentsPerProcess));
  return Math.min(layout.maxProcesses ?? k, k);
}

type Command = WorkerCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

/**
 * One child process and its pending questions. A child that exits (killed, out of memory, an agent's start
 * that threw) fails every question pending and every one after: before attack11 they waited for ever, and the
 * step hung with the other children running, holding the bench lock.
 */
export class Worker {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private gone: Error | undefined;
  readonly exited: Promise<void>;

  constructor(
    readonly proc: ChildProcess,
    readonly from: number,
    readonly to: number,
    onReport: (r: WorkerReport) => void,
  ) {
    this.exited = new Promise((r) =>
      proc.once('exit', (code, signal) => {
        this.gone = new Error(`scale step: agents ${from}-${to - 1}'s process exited (${code ?? signal})`);
        for (const w of this.waiting.values()) w.reject(this.gone);
        this.waiting.clear();
        r();
      }),
    );
    proc.on('message', (r: WorkerReport) => {
      if (r.t === 'reply') this.waiting.get(r.id)?.resolve(r.value);
      else onReport(r);
    });
  }

  ask<T>(cmd: Command): Promise<T> {
    if (this.gone) return Promise.reject(this.gone);
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, {
        resolve: (v) => {
          this.waiting.delete(id);
          resolve(v as T);
        },
        reject,
      });
      this.proc.send({ ...cmd, id });
    });
  }
}

function forkWorker(
  from: number,
  to: number,
  onReport: (w: Worker, r: WorkerReport) => void,
  execArgv = process.execArgv,
  forked: ChildProcess[] = [],
): Promise<Worker> {
  const proc = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  forked.push(proc);
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    // A child that dies loading its modules would otherwise leave the step waiting for ever.
    proc.once('exit', (code) => reject(new Error(`scale step: agents ${from}-${to - 1}'s process exited (${code})`)));
    const w: Worker = new Worker(proc, from, to, (r) => {
      if (r.t === 'ready') resolve(w);
      else onReport(w, r);
    });
  });
}

/** What the bench process knows of the site: each viewer's held versions and states, each origin's own. */
class Mirror {
  readonly names: string[];
  readonly held: Map<string, { version: number; state: string }>[];
  readonly current: number[];
  readonly crashed: boolean[];
  readonly listeners: ((viewer: number, origin: string) => void)[] = [];

  constructor(agents: number) {
    this.names = Array.from({ length: agents }, (_, i) => agentName(i));
    this.held = this.names.map(() => new Map<string, { version: number; state: string }>());
    this.current = this.names.map(() => 0);
    this.crashed = this.names.map(() => false);
  }

  apply(rows: HeldRow[]): void {
    for (const [v, o, version, state] of rows) this.held[v].set(o, { version, state });
    for (const [v, o] of rows) for (const l of this.listeners) l(v, o);
  }

  /** Pairs of live agents held (the origin's current version, alive), and up to `list` of those not held. */
  pairs(list: number): PairCount {
    const live = this.names.map((_, i) => i).filter((i) => !this.crashed[i]);
    const unheld: UnheldPair[] = [];
    let held = 0;
    for (const v of live) {
      for (const o of live) {
        const h = this.held[v].get(this.names[o]);
        if (h?.version === this.current[o] && h.state === 'alive') held++;
        else if (unheld.length < list) unheld.push([v, this.names[o], h?.version ?? 0, h?.state ?? '']);
      }
    }
    return { held, total: live.length * live.length, unheld };
  }

  converged(): boolean {
    const live = this.names.map((_, i) => i).filter((i) => !this.crashed[i]);
    return live.every((v) =>
      live.every((o) => {
        const h = this.held[v].get(this.names[o]);
        return h?.version === this.current[o] && h.state === 'alive';
      }),
    );
  }
}

function sumTraffic(all: Traffic[]): Traffic {
  const sum = emptyTraffic();
  for (const t of all) for (const k of Object.keys(sum) as (keyof Traffic)[]) sum[k] += t[k];
  return sum;
}

export type ProcessCluster = Required<Pick<BenchCluster, 'startedAt' | 'refresh' | 'setLoss' | 'loads' | 'processes'>> &
  BenchCluster & {
    counters(): Promise<SiteCounters>;
    pairs(list: number): PairCount;
    /** Each child's change timings since the last call; kept from here on while `on`. */
    timings(on: boolean): Promise<{ from: number; to: number; t: ChangeTimings }[]>;
  };

/** The children's counters added up; the busiest server is the busiest of any child. */
function sumCounters(all: SiteCounters[]): SiteCounters {
  const sums: Record<string, number> = {};
  for (const c of all) for (const [k, v] of Object.entries(c.sums)) sums[k] = (sums[k] ?? 0) + v;
  return { sums, maxServedChanges: Math.max(0, ...all.map((c) => c.maxServedChanges)) };
}

async function startWorkers(
  opts: ClusterOptions,
  heartbeatScaling: boolean,
  mirror: Mirror,
  k: number,
  key?: string,
): Promise<{ workers: Worker[]; startedAt: number }> {
  const per = Math.ceil(opts.agents / k);
  const started: Promise<void>[] = [];
  // HERALD_SCALE_CPU_PROF=dir: the child of the middle agent writes a --cpu-prof there when it exits.
  const profDir = process.env.HERALD_SCALE_CPU_PROF;
  const profiled = Math.floor(opts.agents / 2);
  const one = (w: number) => {
    const from = w * per;
    const to = Math.min(opts.agents, from + per);
    let done: () => void;
    started.push(new Promise<void>((r) => (done = r)));
    const prof = profDir && profiled >= from && profiled < to ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    const onReport = (_w: Worker, r: WorkerReport) => {
      if (r.t === 'held') mirror.apply(r.rows);
      else if (r.t === 'started') {
        for (const [i, v] of r.versions) mirror.current[i] = v;
        done();
      }
    };
    return forkWorker(from, to, onReport, [...process.execArgv, ...scaleChildFlags(), ...prof], forked);
  };
  const forked: ChildProcess[] = [];
  const workers: Worker[] = [];
  try {
    for (let w = 0; w < k; w += FORKS_AT_ONCE)
      workers.push(
        ...(await Promise.all(Array.from({ length: Math.min(FORKS_AT_ONCE, k - w) }, (_, j) => one(w + j)))),
      );
    // The children have loaded their modules: the cold start counts from here, not from the forks.
    const startedAt = performance.now();
    for (const w of workers) w.proc.send({ t: 'start', opts, heartbeatScaling, key, from: w.from, to: w.to });
    // A child whose agents fail to start exits (its unhandled rejection): the start fails, it does not hang.
    const exited = (w: Worker) =>
      w.exited.then(() => Promise.reject(new Error(`scale step: agents ${w.from}-${w.to - 1} exited starting`)));
    await Promise.all(workers.map((w, j) => Promise.race([started[j], exited(w)])));
    return { workers, startedAt };
  } catch (err) {
    // No cluster is returned, so no stop(): the children forked so far go now, not when the bench exits.
    for (const proc of forked) proc.kill('SIGKILL');
    throw err;
  }
}

/**
 * A Herald system whose children follow `layout`; `follows` false keeps it whatever --scale-processes
 * or --scale-agents-per-process say (the old layout, measured beside the new in one run).
 */
export function processSystem(
  name: string,
  description: string,
  heartbeatScaling: boolean,
  layout: Layout,
  follows = true,
  keyed = false,
): BenchSystem {
  const processes = (opts: ClusterOptions) => {
    if (!follows) return processCount(opts.agents, layout);
    const per = opts.agentsPerProcess;
    return opts.processes ?? processCount(opts.agents, per ? { agentsPerProcess: per } : layout);
  };
  // One key for the whole site, made once per run: every child's agents sign and check with it.
  const start = (opts: ClusterOptions) =>
    startProcessCluster(opts, heartbeatScaling, processes(opts), keyed ? generateKey() : undefined);
  return { name, description, start };
}

export async function startProcessCluster(
  opts: ClusterOptions,
  heartbeatScaling: boolean,
  processes = processCount(opts.agents),
  key?: string,
): Promise<ProcessCluster> {
  if (!Number.isInteger(processes) || processes < 1 || processes > opts.agents)
    throw new RangeError(`scale step: 1 to ${opts.agents} child processes, not ${processes}`);
  const mirror = new Mirror(opts.agents);
  const { workers, startedAt } = await startWorkers(opts, heartbeatScaling, mirror, processes, key);
  const owner = (i: number) => workers.find((w) => i >= w.from && i < w.to)!;
  let traffic = emptyTraffic();
  const all = <T>(cmd: Command) => Promise.all(workers.map((w) => w.ask<T>(cmd)));
  return {
    names: mirror.names,
    startedAt,
    processes: workers.length,
    onProgress: (cb) => mirror.listeners.push(cb),
    async change(i: number, devices: Device[]) {
      mirror.current[i] = await owner(i).ask<number>({ t: 'change', i, devices });
      return mirror.current[i];
    },
    held: (v, o) => mirror.held[v].get(o)?.version ?? 0,
    state: (v, o) => (mirror.held[v].get(o)?.state || undefined) as ReturnType<BenchCluster['state']>,
    converged: () => mirror.converged(),
    pairs: (list) => mirror.pairs(list),
    traffic: () => ({ ...traffic }),
    async refresh() {
      traffic = sumTraffic(await all<Traffic>({ t: 'traffic' }));
    },
    async setLoss(loss) {
      await all({ t: 'loss', loss });
    },
    loads: () => all<ProcessLoad>({ t: 'load' }),
    counters: async () => sumCounters(await all<SiteCounters>({ t: 'counters' })),
    timings: async (on) => {
      const t = await all<ChangeTimings>({ t: 'timings', on });
      return workers.map((w, j) => ({ from: w.from, to: w.to, t: t[j] }));
    },
    maxServed: () => 0,
    inspect: (i, origin) => owner(i).ask({ t: 'inspect', i, origin }),
    async crash(i) {
      mirror.crashed[i] = true;
      return owner(i).ask<number>({ t: 'crash', i });
    },
    async stop() {
      // A child whose agents cannot close (connections still open under load) is killed after 10 s.
      const killAfter = setTimeout(() => workers.forEach((w) => w.proc.kill('SIGKILL')), STOP_GRACE_MS);
      for (const w of workers) if (w.proc.connected) w.proc.send({ t: 'stop', id: 0 });
      await Promise.all(workers.map((w) => w.exited));
      clearTimeout(killAfter);
    },
  };
}
