import { existsSync, readFileSync } from 'node:fs';
import { HARNESS_LAG_P99_MS, type ProcessLoad } from '../scale/loop-meter.js';
import type { CatchUpCost } from '../scale/catchup-cost.js';
import type { ScaleResult } from '../scale/scale.js';
import { HERALD_LAYOUT } from '../scale/step.js';
import { logLineChart } from './chart.js';
import { fmt, fmtMs, ratio, table } from './format.js';

/** The scale step's table and plot, and the simulator's figures beside them when its JSON is there. */

const BASELINE = 'herald-unscaled';

const header = [
  'system',
  'agents',
  'cold start',
  'site multicast B/s (idle)',
  'per agent sent / received B/s (idle)',
  'crash seen by all, p99',
  'change p99, 0 %',
  'change p99, 30 %',
  'RSS / heap MiB per agent',
  'CPU % / agent',
  'processes: worst loop lag p99',
  '÷ today: received / crash / change 0 %',
];

function changeAt(r: ScaleResult, loss: number): string {
  const c = r.change.find((x) => x.loss === loss);
  if (!c) return '-';
  if (c.undelivered > 0) return `${c.undelivered} of ${c.changes} undelivered`;
  // Timed in the children since change13: the bench's own figure (its IPC and the loops' queues) beside it.
  return c.p99BenchMs === undefined ? fmtMs(c.p99Ms) : `${fmtMs(c.p99Ms)} (through the bench: ${fmtMs(c.p99BenchMs)})`;
}

function p99At(r: ScaleResult | undefined, loss: number): number {
  return r?.change.find((x) => x.loss === loss)?.p99Ms ?? NaN;
}

/** The highest event-loop delay p99 of any process in any phase of the row. */
function worstLag(r: ScaleResult): number {
  return Math.max(0, ...r.phases.flatMap((p) => p.loads.map((l) => l.lagP99Ms)));
}

/** Up to this many processes a cell names each; more (one agent a process) are summed up. */
const NAMED_PROCESSES = 6;

/** Each process's loop lag p99 and CPU, or for many: the median and worst lag, and their CPU summed. */
function loadsCell(loads: ProcessLoad[]): string {
  const one = (l: ProcessLoad) => `${l.role}: ${fmtMs(l.lagP99Ms)}, ${fmt(l.cpuPercent, 0)} %`;
  if (loads.length <= NAMED_PROCESSES) return loads.map(one).join('; ');
  const [bench, ...agents] = loads;
  const lags = agents.map((l) => l.lagP99Ms).sort((a, b) => a - b);
  const worst = agents.reduce((w, l) => (l.lagP99Ms > w.lagP99Ms ? l : w));
  const cpu = agents.reduce((s, l) => s + l.cpuPercent, 0);
  return (
    `${one(bench)}; ${agents.length} agent processes: median ${fmtMs(lags[Math.floor(lags.length / 2)])}, ` +
    `worst ${fmtMs(worst.lagP99Ms)} (${worst.role}), ${fmt(cpu, 0)} % in all`
  );
}

/** Each phase of each row: every process's loop lag p99 and CPU % of a core, so a saturated harness shows. */
export function scaleLoadTable(results: ScaleResult[]): string {
  const rows = results.flatMap((r) => r.phases.map((p) => [r.system, String(r.agents), p.phase, loadsCell(p.loads)]));
  return table(['system', 'agents', 'phase', 'per process: loop lag p99, CPU % of a core'], rows);
}

/** The phases whose figures measured an overloaded harness; the row's other figures are real. */
function limitedLabel(r: ScaleResult): string {
  return r.limitedPhases.length === 0 ? r.system : `${r.system} (harness-limited: ${r.limitedPhases.join(', ')})`;
}

/** The time, then what it was started over and what it cost: a cold start slower than the CPU allows shows why. */
function coldStartCell(r: ScaleResult): string {
  return `${fmtMs(r.coldStartMs)} (spread ${fmt(r.startSpreadMs / 1000, 0)} s, ${fmt(r.coldStartCpuSeconds, 0)} CPU s)`;
}

function scaleRow(r: ScaleResult, today: ScaleResult | undefined): string[] {
  const versus =
    r.system === BASELINE || !today
      ? ''
      : [
          ratio(r.receivedBytesPerSecondPerAgent, today.receivedBytesPerSecondPerAgent),
          ratio(r.crashP99Ms, today.crashP99Ms),
          ratio(p99At(r, 0), p99At(today, 0)),
        ].join(' / ');
  return [
    limitedLabel(r),
    String(r.agents),
    coldStartCell(r),
    fmt(r.multicastBytesPerSecond, 0),
    `${fmt(r.sentBytesPerSecondPerAgent, 0)} / ${fmt(r.receivedBytesPerSecondPerAgent, 0)}`,
    r.crashUndetected > 0 ? `${r.crashUndetected} never` : fmtMs(r.crashP99Ms),
    changeAt(r, 0),
    changeAt(r, 0.3),
    `${fmt(r.rssMiBPerAgent, 2)} / ${Number.isNaN(r.heapMiBPerAgent) ? '-' : fmt(r.heapMiBPerAgent, 2)}`,
    fmt(r.cpuPercentPerAgent, 3),
    `${r.processes || 'bench'}: ${fmtMs(worstLag(r))}`,
    versus,
  ];
}

export function scaleTable(results: ScaleResult[]): string {
  const today = (n: number) => results.find((r) => r.system === BASELINE && r.agents === n);
  return table(
    header,
    results.map((r) => scaleRow(r, today(r.agents))),
  );
}

/** The simulator's rows (bench/results/sim-scale.json, written by `npm run swarm -- --scale`), as far as read here. */
interface SimRow {
  size: number;
  protocol: string;
  idle: {
    siteMulticastBytesPerSecond: number;
    agentSentBytesPerSecond: { mean: number };
    agentReceivedBytesPerSecond: { mean: number };
  };
  crash: { p99Ms: number | null };
  change: { clean: { p99Ms: number | null }; lossy: { p99Ms: number | null } };
  coldStart: { ms: number | null };
}

export const SIM_SCALE_JSON = 'bench/results/sim-scale.json';

export function simScaleTable(file = SIM_SCALE_JSON): string | undefined {
  if (!existsSync(file)) return undefined;
  const report = JSON.parse(readFileSync(file, 'utf8')) as { ran?: { at?: string }; results?: SimRow[] };
  const ms = (v: number | null) => (v === null ? 'never' : fmtMs(v));
  const rows = (report.results ?? []).map((r) => [
    r.protocol === 'baseline' ? 'today' : 'default',
    String(r.size),
    ms(r.coldStart.ms),
    fmt(r.idle.siteMulticastBytesPerSecond, 0),
    `${fmt(r.idle.agentSentBytesPerSecond.mean, 0)} / ${fmt(r.idle.agentReceivedBytesPerSecond.mean, 0)}`,
    ms(r.crash.p99Ms),
    ms(r.change.clean.p99Ms),
    ms(r.change.lossy.p99Ms),
  ]);
  const head = header.slice(0, 8).map((h, i) => (i === 0 ? 'protocol' : h));
  return `Simulator run of ${report.ran?.at ?? 'unknown date'} (\`${file}\`; payload bytes, no headers):\n\n${table(head, rows)}`;
}

/** Per-agent idle bytes received against the site's size, one line per system. */
export function scalePlot(results: ScaleResult[]): string {
  const sizes = [...new Set(results.map((r) => r.agents))].sort((a, b) => a - b);
  const systems = [...new Set(results.map((r) => r.system))];
  return logLineChart(
    systems.map((name) => ({
      name,
      points: results
        .filter((r) => r.system === name)
        .map((r) => ({ x: r.agents, y: r.receivedBytesPerSecondPerAgent })),
    })),
    {
      title: 'Idle bytes each agent receives a second',
      xLabel: 'agents on one segment (loopback)',
      yLabel: 'bytes received a second, per agent',
      xTicks: sizes.map((n) => ({ x: n, label: String(n) })),
      xShare: (n) => (sizes.length > 1 ? sizes.indexOf(n) / (sizes.length - 1) : 0.5),
      yTick: (d) => (d >= 1000 ? `${d / 1000} kB/s` : `${d} B/s`),
      yFloor: 10,
      yCeiling: 100,
    },
  );
}

/** The report's scale section, with the plot written next to docs/benchmarks.md. */
/** One catch-up's CPU on each side, and what N(N−1) of them cost: a cold start's floor on this machine. */
export function catchUpCostLine(cost: CatchUpCost | undefined, sizes: number[]): string {
  if (!cost) return '';
  const exchangeUs = cost.servedFreshUs + cost.askedFreshUs;
  const floors = sizes.map((n) => `${n}: ${fmt((n * (n - 1) * exchangeUs) / 1e6, 1)} CPU s`).join(', ');
  return (
    `CPU per catch-up of a 10-device snapshot (${cost.requests} requests to one agent process, Node's default flags as the children run): ` +
    `served ${fmt(cost.servedUs, 0)} µs, asked ${fmt(cost.askedUs, 0)} µs on a kept-alive connection; ` +
    `${fmt(cost.servedFreshUs, 0)} / ${fmt(cost.askedFreshUs, 0)} µs on a new one; a liveness hello served ` +
    `${fmt(cost.helloServedUs, 0)} µs. A cold start's N(N−1) first catch-ups alone: ${floors}.\n\n`
  );
}

const agentsEach = (n: number) => (n === 1 ? 'one agent' : `${n} agents`);

export function scaleSection(results: ScaleResult[], cost?: CatchUpCost): string {
  if (results.length === 0) return '';
  const sim = simScaleTable();
  return (
    '### Scale: N agents with 10 devices each on loopback (issue 18)\n\n' +
    `Herald runs ${agentsEach(HERALD_LAYOUT.agentsPerProcess)} a child process unless the run said otherwise ` +
    "(the `processes` of the row; RSS and CPU are the children's, divided by the agents); `herald-shared` is " +
    'the layout before cold11, 50 agents a child (at most 4), whose shared event loop accepts one catch-up ' +
    'connection a turn for all 50 agents; ' +
    'SWIM runs in the bench process (RSS is its growth). Agents start spread over 1 s at 50, 100 ms an agent ' +
    "above (the cold start counts from the first start, and its CPU seconds are the agents' processes'); after " +
    'it the bench waits up to 20 s for every event loop to be back under ' +
    `${HARNESS_LAG_P99_MS} ms p99. The idle window opens once no view exchange ran for 20 s and 2 of the site's ` +
    'announced multicast intervals after the cold start, and lasts 1.5 intervals, 15 s at least (~115 s at 200), as ' +
    "the simulator's: the cold start's redrawn waits multicast above the budget for about an interval after it. " +
    `A phase is harness-limited when some process's event loop lagged more than ` +
    `${HARNESS_LAG_P99_MS} ms p99 in it, and the row names those phases: their figures (idle: bytes, RSS, CPU; ` +
    'changes at a loss; crash) measure this machine as much as the protocol, the others are real.\n\n' +
    `${scaleTable(results)}\n\n![idle bytes per agent against site size](benchmarks-scale.svg)\n\n` +
    `Load of each process in each phase:\n\n${scaleLoadTable(results)}\n\n` +
    catchUpCostLine(cost, [...new Set(results.map((r) => r.agents))]) +
    (sim ? `${sim}\n\n` : '')
  );
}
