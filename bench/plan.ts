import type { BenchSystem } from './system.js';
import { fullStateMulticast } from './systems/full-state.js';
import { heraldKeyed, heraldMdns, heraldMulticast } from './systems/herald.js';
import { httpPolling } from './systems/http-polling.js';
import { mdnsOnly } from './systems/mdns-only.js';
import {
  parseScaleKnobs,
  parseScaleSizes,
  scalePlan,
  scaleStepCount,
  type ScaleKnobFlags,
  type ScalePlan,
} from './scale/step.js';

/** Every system runs with this heartbeat, so that their figures compare. */
export const HEARTBEAT_MS = 1000;

export interface BenchOptions {
  quick: boolean;
  /** Write docs/benchmarks.md and the README's benchmark paragraph from this run. */
  writeDocs: boolean;
  outageSeconds: number;
  /** Agent counts of the scale step (--scale-sizes 50,200); the quick run takes 50 only. */
  scaleSizes: number[];
  /** --scale-spread-s S, --scale-processes K: the scale step's start spread and Herald's child processes. */
  scaleKnobs?: ScaleKnobFlags;
  /** --only scale, footprint, footprint-1000 or auth: that one step alone, to check it without the whole bench. */
  only?: BenchStep;
}

export const BENCH_STEPS = ['scale', 'footprint', 'footprint-1000', 'auth'] as const;
export type BenchStep = (typeof BENCH_STEPS)[number];

function parseOnly(argv: string[]): BenchStep | undefined {
  const at = argv.indexOf('--only');
  if (at < 0) return undefined;
  const step = BENCH_STEPS.find((s) => s === argv[at + 1]);
  if (!step) throw new RangeError(`--only: one of ${BENCH_STEPS.join(', ')}, not "${argv[at + 1]}"`);
  return step;
}

/**
 * npm run bench [-- --quick] [-- --docs] [-- --mqtt-outage-seconds N] [-- --scale-sizes 50,200]
 * [-- --only scale|footprint|footprint-1000|auth] [-- --scale-spread-s S] [-- --scale-processes K]
 * [-- --scale-systems herald,herald-unscaled,swim]
 */
export function benchOptions(argv: string[]): BenchOptions {
  const args = new Set(argv);
  const quick = args.has('--quick');
  const outageArg = argv.indexOf('--mqtt-outage-seconds');
  return {
    quick,
    writeDocs: args.has('--docs'),
    outageSeconds: outageArg >= 0 ? Number(argv[outageArg + 1]) : quick ? 5 : 30,
    scaleSizes: parseScaleSizes(argv, quick ? [50] : [50, 200]),
    scaleKnobs: parseScaleKnobs(argv),
    only: parseOnly(argv),
  };
}

export interface SystemPlan {
  system: BenchSystem;
  sizes: number[];
  losses: number[];
  /** Idle, cold start and crash runs too (the quick run keeps them for Herald only). */
  lifecycle: boolean;
}

export interface Plan {
  changes: number;
  intervalMs: number;
  idleSeconds: number;
  systems: SystemPlan[];
  flood: { agents: number; junkPerSecond: number; seconds: number } | undefined;
  /** Open and keyed Herald run alternately, so that machine noise falls on both alike. */
  authPairs: { pairs: number; agents: number; changes: number };
  /** Issue 18's scale step; set by benchPlan from --scale-sizes. */
  scale?: ScalePlan;
}

// Polling is over TCP: datagram loss does not touch it, so it runs at 0 % only; above 50 agents it
// saturates this 2-core machine. mDNS systems run at 20 agents, the size of the mDNS issue's target.
const quickPlan: Plan = {
  changes: 40,
  intervalMs: 20,
  idleSeconds: 2,
  flood: undefined,
  authPairs: { pairs: 4, agents: 50, changes: 100 },
  systems: [
    { system: heraldMulticast, sizes: [50], losses: [0, 0.3], lifecycle: true },
    { system: heraldMdns, sizes: [10], losses: [0], lifecycle: false },
    { system: fullStateMulticast, sizes: [10], losses: [0, 0.3], lifecycle: false },
    { system: httpPolling, sizes: [10], losses: [0], lifecycle: false },
    { system: mdnsOnly, sizes: [10], losses: [0], lifecycle: false },
  ],
};

const fullPlan: Plan = {
  changes: 200,
  intervalMs: 25,
  idleSeconds: 5,
  flood: { agents: 10, junkPerSecond: 5000, seconds: 5 },
  authPairs: { pairs: 12, agents: 50, changes: 300 },
  systems: [
    { system: heraldMulticast, sizes: [10, 50, 100], losses: [0, 0.1, 0.3, 0.6], lifecycle: true },
    { system: heraldKeyed, sizes: [50], losses: [0.3], lifecycle: false },
    { system: heraldMdns, sizes: [20], losses: [0, 0.3], lifecycle: true },
    { system: fullStateMulticast, sizes: [10], losses: [0, 0.3, 0.6], lifecycle: true },
    { system: fullStateMulticast, sizes: [50], losses: [0, 0.3], lifecycle: true },
    { system: httpPolling, sizes: [10, 50], losses: [0], lifecycle: true },
    { system: mdnsOnly, sizes: [20], losses: [0, 0.3], lifecycle: true },
  ],
};

export function benchPlan(quick: boolean, scaleSizes: number[] = [], knobs: ScaleKnobFlags = {}): Plan {
  const plan = quick ? quickPlan : fullPlan;
  return scaleSizes.length ? { ...plan, scale: scalePlan(scaleSizes, knobs) } : plan;
}

/** The steps the progress line counts: each scenario run, the flood, the service targets, the auth pairs. */
export function stepCount(plan: Plan, quick: boolean, only?: BenchStep): number {
  if (only === 'scale') return scaleStepCount(plan.scale);
  if (only === 'footprint' || only === 'footprint-1000') return 1;
  if (only === 'auth') return plan.authPairs.pairs;
  const scenarios = plan.systems.reduce((n, p) => n + p.sizes.length * ((p.lifecycle ? 3 : 0) + p.losses.length), 0);
  const fixed = (plan.flood ? 1 : 0) + (quick ? 2 : 3) + plan.authPairs.pairs;
  return scenarios + fixed + (quick ? 0 : 1) + scaleStepCount(plan.scale);
}

/** Agent counts of the plan, smallest first, and its systems once each in plan order. */
export function planSizes(plan: Plan): number[] {
  return [...new Set(plan.systems.flatMap((p) => p.sizes))].sort((a, b) => a - b);
}

export function planSystems(plan: Plan): BenchSystem[] {
  return [...new Set(plan.systems.map((p) => p.system))];
}
