import { fmt, fmtMs } from '../report/format.js';
import type { BenchRun } from '../run.js';
import type { Target } from '../targets.js';
import type { ScaleResult } from './scale.js';

/** Issue 18's goal, judged on real sockets at 200 agents (its acceptance; the simulator judges 1,000). */

const SIZE = 200;
const atMost = (v: number, t: number) => v <= t;
const bytes = (v: number) => `${fmt(v, 0)} B/s`;

function at200(run: BenchRun): ScaleResult | undefined {
  return run.results.scale.find((r) => r.system === 'herald' && r.agents === SIZE);
}

function change(run: BenchRun, loss: number) {
  return at200(run)?.change.find((c) => c.loss === loss);
}

export const scaleTargets: Target[] = [
  {
    name: `site-wide idle multicast ≤ 2 kB/s, ${SIZE} agents`,
    figure: (run) => at200(run)?.multicastBytesPerSecond,
    threshold: 2000,
    judged: atMost,
    show: bytes,
  },
  {
    name: `idle traffic ≤ 300 B/s sent and received per agent, ${SIZE} agents`,
    figure: (run) => {
      const r = at200(run);
      return r && Math.max(r.sentBytesPerSecondPerAgent, r.receivedBytesPerSecondPerAgent);
    },
    threshold: 300,
    judged: atMost,
    show: bytes,
  },
  {
    name: `crashed agent lost everywhere within 3.5 s p99, ${SIZE} agents`,
    figure: (run) => at200(run)?.crashP99Ms,
    threshold: 3500,
    judged: atMost,
    show: fmtMs,
  },
  {
    name: `change p99 ≤ 20 ms at 0 % loss, ${SIZE} agents`,
    figure: (run) => change(run, 0)?.p99Ms,
    threshold: 20,
    judged: atMost,
    show: fmtMs,
  },
  {
    name: `change p99 ≤ 1.5 s at 30 % loss, nothing undelivered, ${SIZE} agents`,
    figure: (run) => change(run, 0.3)?.p99Ms,
    threshold: 1500,
    judged: atMost,
    show: fmtMs,
  },
  {
    name: `cold start converged within 10 s, ${SIZE} agents`,
    figure: (run) => at200(run)?.coldStartMs,
    threshold: 10_000,
    judged: atMost,
    show: fmtMs,
  },
];
