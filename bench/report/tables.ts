import type { Footprint, MemoryResults } from '../footprint.js';
import type { FloodResult } from '../flood.js';
import { lifecycleOf, propagationOf } from '../figures.js';
import { planSizes, planSystems, type Plan } from '../plan.js';
import type { ScenarioResults } from '../run.js';
import type { PropagationResult } from '../scenarios.js';
import { fmt, fmtMs, ratio, table } from './format.js';

/** The report's tables, one a scenario, each row a system at a size. */

const propagationHeader = [
  'system',
  'agents',
  'loss',
  'p50',
  'p99',
  'max',
  'undelivered (30 s)',
  'datagrams / change',
  'change bytes / change / receiver',
  'HTTP req / change',
  'CPU ms / change',
  'Herald ÷ it: p99 / bytes',
];

/** The last column: Herald's figures divided by this system's, "0.16 / 2.12". */
function heraldOver(pairs: [herald: number, other: number][]): string {
  return pairs.map(([h, o]) => ratio(h, o)).join(' / ');
}

function propagationRow(r: PropagationResult, herald: PropagationResult | undefined): string[] {
  const versus =
    r.system === 'herald' || !herald
      ? ''
      : heraldOver([
          [herald.latencyMs.p99, r.latencyMs.p99],
          [herald.wireBytesPerChangePerReceiver, r.wireBytesPerChangePerReceiver],
        ]);
  return [
    r.system,
    String(r.agents),
    `${r.loss * 100} %`,
    fmtMs(r.latencyMs.p50),
    fmtMs(r.latencyMs.p99),
    fmtMs(r.latencyMs.max),
    String(r.undelivered),
    fmt(r.datagramsPerChange, 2),
    fmt(r.wireBytesPerChangePerReceiver, 0),
    fmt(r.httpRequestsPerChange, 2),
    fmt(r.cpuMsPerChange, 2),
    versus,
  ];
}

export function propagationTable(results: ScenarioResults): string {
  return table(
    propagationHeader,
    results.propagation.map((r) => propagationRow(r, propagationOf(results, 'herald', r.agents, r.loss))),
  );
}

const lifecycleHeader = [
  'system',
  'agents',
  'idle bytes/s per agent',
  'idle HTTP req/s (site)',
  'idle CPU % of a core (site)',
  'cold start converged',
  'max requests served by one agent',
  'crash lost everywhere',
  'Herald ÷ it: idle bytes / crash',
];

function lifecycleRow(results: ScenarioResults, system: string, n: number): string[] | undefined {
  const { idle: i, coldStart: c, crash: k } = lifecycleOf(results, system, n);
  const { idle: hi, crash: hk } = lifecycleOf(results, 'herald', n);
  if (!i || !c || !k) return undefined;
  const versus =
    system === 'herald' || !hi || !hk
      ? ''
      : heraldOver([
          [hi.bytesPerSecondPerAgent, i.bytesPerSecondPerAgent],
          [hk.lostEverywhereMs, k.lostEverywhereMs],
        ]);
  return [
    system,
    String(n),
    fmt(i.bytesPerSecondPerAgent, 0),
    fmt(i.httpRequestsPerSecond, 0),
    fmt(i.cpuPercentOfCore, 1),
    fmtMs(c.convergedMs),
    String(c.maxServed),
    fmtMs(k.lostEverywhereMs),
    versus,
  ];
}

export function lifecycleTable(plan: Plan, results: ScenarioResults): string {
  const rows = planSizes(plan).flatMap((n) => planSystems(plan).map((s) => lifecycleRow(results, s.name, n)));
  return table(
    lifecycleHeader,
    rows.filter((r): r is string[] => !!r),
  );
}

export function floodTable(flood: FloodResult): string {
  return table(
    [
      'changes',
      'p50',
      'p99',
      'undelivered',
      'API GET /v1/devices p50',
      'API p99',
      'API failures',
      'junk dropped per agent',
      'converged after',
    ],
    [
      [
        String(flood.changes),
        fmtMs(flood.latencyMs.p50),
        fmtMs(flood.latencyMs.p99),
        String(flood.undelivered),
        fmtMs(flood.apiMs.p50),
        fmtMs(flood.apiMs.p99),
        String(flood.apiFailures),
        fmt(flood.dropped, 0),
        flood.convergedAfter ? 'yes' : 'no',
      ],
    ],
  );
}

function footprintRow(what: string, f: Footprint): string[] {
  return [
    what,
    fmt(f.rssMiB, 1),
    fmt(f.peakRssMiB, 1),
    fmt(f.heapUsedMiB, 1),
    fmt(f.idleCpuPercent, 2),
    fmt(f.syncCpuSeconds, 2),
    fmtMs(f.syncMs),
    String(f.aliveAfter),
  ];
}

export function footprintTable(m: MemoryResults): string {
  const floor = ['a bare Node process receiving the same datagrams', '', '', '', fmt(m.floorIdleCpuPercent, 2)];
  return (
    table(
      [
        'Node flags',
        'RSS MiB, settled',
        'RSS MiB, peak',
        'live heap MiB',
        'idle CPU % of a core',
        'CPU s from process start to every device held',
        'wall time to every device held',
        'agents alive at the end',
      ],
      [
        footprintRow(m.flags.join(' ') || '(none)', m.unit),
        footprintRow('(defaults)', m.defaults),
        [...floor, '', '', ''],
      ],
    ) +
    `\n\nThe site's 100 agents run in child processes of their own and converge first ` +
    `(${fmtMs(m.siteConvergedMs ?? NaN)}); then both agents join it together and take in its ${m.devices} ` +
    `devices. ${m.settleSeconds} s later the idle window (${m.idleSeconds} s: RSS sampled each second, its ` +
    "median shown; CPU summed over the window, per pid) measures each agent among the site's live agents, " +
    'scaled heartbeats, unicast liveness and probes included. All 102 agents should be alive at the end. ' +
    'The wall time is mostly protocol: a newcomer waits to hear each peer before fetching what it holds.'
  );
}
