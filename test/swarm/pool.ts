import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ViolationKind } from './invariants.js';
import type { SeedResult } from './run-seed.js';
import { drawScenario } from './scenario.js';

export interface SwarmOptions {
  /** First seed; seeds run in order from here. */
  first: number;
  /** How many seeds at most. */
  seeds: number;
  /** Exactly these seeds instead (regression cases), each with the largest site it was drawn with. */
  list?: { seed: number; maxAgents: number }[];
  /** Seeds handed to a worker at a time (CHUNK): 1 for a short list of unequal seeds, largest first. */
  chunk?: number;
  /** Stop handing out seeds after this long (seconds of real time). */
  seconds?: number;
  workers?: number;
  maxAgents: number;
  onProgress?: (s: SwarmSummary) => void;
}

export interface SwarmSummary {
  seeds: number;
  /** Seeds being run now, with when each started (performance.now()): a seed that never ends shows here. */
  inFlight: Map<number, number>;
  failures: SeedResult[];
  byKind: Partial<Record<ViolationKind, number>>;
  agentHours: number;
  elapsedMs: number;
}

const CHUNK = 8;

/** Runs seeds in worker threads on every core; the summary lists every failing seed with what it broke. */
export async function runSwarm(opts: SwarmOptions): Promise<SwarmSummary> {
  const started = performance.now();
  const summary: SwarmSummary = {
    seeds: 0,
    inFlight: new Map(),
    failures: [],
    byKind: {},
    agentHours: 0,
    elapsedMs: 0,
  };
  const chunk = opts.chunk ?? CHUNK;
  let next = opts.first;
  const end = opts.first + opts.seeds;
  const deadline = opts.seconds !== undefined ? started + opts.seconds * 1000 : Infinity;
  const list = opts.list?.slice();
  const take = (): { seed: number; maxAgents: number }[] => {
    if (performance.now() >= deadline) return [];
    if (list) return list.splice(0, chunk);
    const seeds: { seed: number; maxAgents: number }[] = [];
    while (seeds.length < chunk && next < end) seeds.push({ seed: next++, maxAgents: opts.maxAgents });
    return seeds;
  };
  const url = new URL('./worker.js', import.meta.url);
  const total = list?.length ?? opts.seeds;
  const count = Math.max(1, Math.min(opts.workers ?? cpus().length, Math.ceil(total / chunk)));
  const timer = setInterval(() => opts.onProgress?.({ ...summary, elapsedMs: performance.now() - started }), 1000);
  try {
    await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<void>((resolve, reject) => {
            const worker = new Worker(url);
            const feed = () => {
              const seeds = take();
              if (seeds.length > 0) worker.postMessage({ seeds });
              else void worker.terminate().then(() => resolve());
            };
            worker.on('message', (msg: { result?: SeedResult; done?: boolean; running?: number }) => {
              if (msg.running !== undefined) summary.inFlight.set(msg.running, performance.now());
              if (msg.result) {
                summary.inFlight.delete(msg.result.seed);
                record(summary, msg.result);
              }
              if (msg.done) feed();
            });
            worker.on('error', reject);
            feed();
          }),
      ),
    );
  } finally {
    clearInterval(timer);
  }
  summary.failures.sort((a, b) => a.seed - b.seed);
  summary.elapsedMs = performance.now() - started;
  return summary;
}

function record(summary: SwarmSummary, r: SeedResult): void {
  summary.seeds += 1;
  summary.agentHours += r.agentHours;
  if (r.ok) return;
  summary.failures.push(r);
  for (const k of r.kinds) summary.byKind[k] = (summary.byKind[k] ?? 0) + 1;
}

/**
 * These seeds, the most simulation first (agents × simulated time): with `chunk: 1` the workers then finish
 * together, where a list in file order handed one worker the few 100-200-agent seeds in turn.
 */
export function largestFirst(
  cases: readonly { seed: number; maxAgents: number }[],
): { seed: number; maxAgents: number }[] {
  const cost = ({ seed, maxAgents }: { seed: number; maxAgents: number }) => {
    const s = drawScenario(seed, { maxAgents });
    return s.agents.length * (s.faultMs + s.quietMs);
  };
  return cases
    .map(({ seed, maxAgents }) => ({ seed, maxAgents, cost: cost({ seed, maxAgents }) }))
    .sort((a, b) => b.cost - a.cost)
    .map(({ seed, maxAgents }) => ({ seed, maxAgents }));
}
