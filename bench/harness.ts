import type { BenchCluster, BenchSystem, ClusterOptions } from './system.js';

/** What every scenario does around its cluster: fresh ports, waiting on a condition, tracking deliveries. */

export const now = () => performance.now();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Multicast ports for one bench's clusters, each one no earlier cluster used, so that runs never hear each other. */
export class PortSequence {
  private seq = 0;
  next(): number {
    this.seq = (this.seq + 1) % 1000;
    return 30000 + ((process.pid * 7 + this.seq * 13) % 20000);
  }
}

/** What every scenario runs with: the heartbeat all systems share, and the bench's ports. */
export interface ScenarioEnv {
  heartbeatMs: number;
  ports: PortSequence;
}

/** Milliseconds until `cond` held, or undefined when it did not within `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 5): Promise<number | undefined> {
  const t0 = now();
  while (!cond()) {
    if (now() - t0 > timeoutMs) return undefined;
    await sleep(stepMs);
  }
  return now() - t0;
}

export async function withCluster<T>(
  system: BenchSystem,
  opts: Omit<ClusterOptions, 'port'>,
  ports: PortSequence,
  fn: (c: BenchCluster, startedMs: number) => Promise<T>,
): Promise<T> {
  const t0 = now();
  const cluster = await system.start({ ...opts, port: ports.next() });
  try {
    return await fn(cluster, t0);
  } finally {
    await cluster.stop();
    await sleep(50);
  }
}

/** A sequence that repeats from its seed on every run and system: which agent changes next, what junk is sent. */
export function lcg(seed: number): () => number {
  let rng = seed;
  return () => (rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648;
}

interface Pending {
  origin: string;
  version: number;
  at: number;
  waiting: Set<number>;
}

/** Changes made, the agents still waiting for each, and how long each took to reach each agent. */
export class Deliveries {
  readonly latencies: number[] = [];
  private readonly pending: Pending[] = [];
  constructor(private readonly cluster: BenchCluster) {}

  /** Origin `i` made `version` at `at`: every other agent is now waiting for it. */
  expect(i: number, version: number, at: number): Pending {
    const waiting = new Set(this.cluster.names.map((_, v) => v).filter((v) => v !== i));
    const p = { origin: this.cluster.names[i], version, at, waiting };
    this.pending.push(p);
    return p;
  }

  /** Viewer may have progressed on origin: a change it now holds is delivered, now. */
  check(viewer: number, origin: string): void {
    for (const p of this.pending) {
      if (p.origin !== origin || !p.waiting.has(viewer)) continue;
      if (this.cluster.held(viewer, origin) >= p.version) {
        p.waiting.delete(viewer);
        this.latencies.push(now() - p.at);
      }
    }
  }

  sweep(): void {
    for (const p of this.pending) for (const v of p.waiting) this.check(v, p.origin);
  }

  /** Every change is held everywhere, or has waited longer than `giveUpMs`. */
  settled(giveUpMs: number): boolean {
    return this.pending.every((p) => p.waiting.size === 0 || now() - p.at > giveUpMs);
  }

  allHeld(): boolean {
    return this.pending.every((p) => [...p.waiting].every((v) => this.cluster.held(v, p.origin) >= p.version));
  }

  undelivered(): number {
    return this.pending.filter((p) => p.waiting.size > 0).length;
  }

  /** Each change some agent is still waiting for, with those agents. */
  behind(): { origin: string; version: number; viewers: number[] }[] {
    const out = this.pending.filter((p) => p.waiting.size > 0);
    return out.map((p) => ({ origin: p.origin, version: p.version, viewers: [...p.waiting] }));
  }

  /** The viewer holds it, though the mirror `held` reads never said so: no longer waiting, and no latency known. */
  heldUnseen(origin: string, version: number, viewer: number): void {
    for (const p of this.pending) if (p.origin === origin && p.version === version) p.waiting.delete(viewer);
  }

  /** The changes some agent never held (at most `limit`), with what each of those agents held instead. */
  missed(limit = 5): Missed[] {
    return this.pending
      .filter((p) => p.waiting.size > 0)
      .slice(0, limit)
      .map((p) => ({
        origin: p.origin,
        version: p.version,
        viewers: [...p.waiting].slice(0, limit).map((v) => ({
          viewer: this.cluster.names[v],
          held: this.cluster.held(v, p.origin),
        })),
      }));
  }
}

import type { MissedView } from './scale/miss-diagnosis.js';

/** A change not delivered within the step's time: to find which agents and how far behind, not guess. */
export interface Missed {
  origin: string;
  version: number;
  viewers: { viewer: string; held: number }[];
  /** The scale step's diagnosis of the viewers behind (scale/miss-diagnosis.ts). */
  views?: MissedView[];
  /** The kernel's UDP counters over the phase (scale/miss-diagnosis.ts): RcvbufErrors, datagrams no agent saw. */
  udp?: Record<string, number>;
}
