import { lifecycleOf, propagationOf } from '../figures.js';
import { planSizes } from '../plan.js';
import type { BenchRun } from '../run.js';
import type { JudgedTarget } from '../targets.js';
import { fmtMs, table } from './format.js';

/** The README's benchmark paragraph, written from a run's figures so that none is typed by hand. */

interface Column {
  system: string;
  label: string;
  /** Over TCP: datagram loss does not touch it, so it is run at 0 % only. */
  noDatagrams?: boolean;
}

const columns: Column[] = [
  { system: 'herald', label: 'Herald' },
  { system: 'full-state', label: 'full-state multicast' },
  { system: 'http-polling', label: 'HTTP polling', noDatagrams: true },
];

const NOT_MEASURED = 'not measured';
const count = (v: number) => Math.round(v).toLocaleString('en-US');
const WIDTH = 104;

/** Prose wrapped as the README's is, so that a regenerated paragraph diffs by its figures. */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

/** "0, 10, 30 or 60" */
function either(items: (string | number)[]): string {
  const words = items.map(String);
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

function comparison(run: BenchRun, n: number): string {
  const at = (c: Column, loss: number) => {
    const r = propagationOf(run.results, c.system, n, loss);
    if (r) return fmtMs(r.latencyMs.p99);
    return c.noDatagrams && loss > 0 ? '(no datagrams)' : NOT_MEASURED;
  };
  const idle = (c: Column) => {
    const r = lifecycleOf(run.results, c.system, n).idle;
    return r ? count(r.bytesPerSecondPerAgent) : NOT_MEASURED;
  };
  const crash = (c: Column) => {
    const r = lifecycleOf(run.results, c.system, n).crash;
    return r ? fmtMs(r.lostEverywhereMs) : NOT_MEASURED;
  };
  return table(
    [`${n} agents, heartbeat ${run.machine.heartbeatMs / 1000} s`, ...columns.map((c) => c.label)],
    [
      ['p99 of a change reaching every agent, 0 % loss', ...columns.map((c) => at(c, 0))],
      ['p99 at 30 % datagram loss', ...columns.map((c) => at(c, 0.3))],
      ['idle bytes per second per agent', ...columns.map(idle)],
      ['crashed agent seen as lost everywhere', ...columns.map(crash)],
    ],
  );
}

/** What held across every Herald run: delivery, datagrams per change, the junk flood. */
function heraldSummary(run: BenchRun): string {
  const herald = run.results.propagation.filter((r) => r.system === 'herald');
  if (herald.length === 0) return '';
  const losses = [...new Set(herald.map((r) => r.loss * 100))].sort((a, b) => a - b);
  const sizes = [...new Set(herald.map((r) => r.agents))].sort((a, b) => a - b);
  const undelivered = herald.reduce((n, r) => n + r.undelivered, 0);
  const delivery =
    undelivered === 0
      ? `Nothing went undelivered at ${either(losses)} % loss with ${either(sizes)} agents`
      : `${undelivered} changes went undelivered over ${either(losses)} % loss with ${either(sizes)} agents`;
  const maxDatagrams = Math.max(...herald.filter((r) => r.loss === 0).map((r) => r.datagramsPerChange));
  const datagrams =
    maxDatagrams <= 1.0001
      ? 'one datagram is sent per change'
      : `up to ${maxDatagrams.toFixed(2)} datagrams are sent per change`;
  const flood = run.results.flood;
  const floodHeld = flood && flood.convergedAfter && flood.undelivered === 0 && flood.apiFailures === 0;
  const clauses = [delivery, datagrams];
  if (flood)
    clauses.push(
      `a keyed site under ${count(flood.junkPerSecond)} junk datagrams a second ` +
        (floodHeld ? 'stayed converged and kept answering its API' : 'lost changes or failed API requests'),
    );
  return `${clauses.slice(0, -1).join(', ')}, and ${clauses.at(-1)}.`;
}

function targetSummary(targets: JudgedTarget[]): string {
  const notMet = targets.filter((t) => t.met === 'NOT met');
  const unmeasured = targets.filter((t) => t.met === 'not measured').length;
  const met =
    notMet.length === 0
      ? `Every target this run measured was met (${targets.length - unmeasured} of ${targets.length})`
      : `Not met yet: ${notMet.map((t) => `${t.target}: ${t.value}`).join('; ')}`;
  return unmeasured === 0 ? `${met}.` : `${met}; ${unmeasured} not measured in this run.`;
}

export function readmeParagraph(run: BenchRun, targets: JudgedTarget[]): string {
  const sizes = planSizes(run.plan);
  const n = sizes.includes(50) ? 50 : sizes[0];
  const { machine: m } = run;
  const intro =
    '`npm run bench` (about 20 minutes on a quiet 2-core machine, the scale step at 50 and 200 agents included; ' +
    '`-- --quick` about four) ' +
    'runs Herald and the designs a user ' +
    'would otherwise deploy side by side, on one machine, in one run. From the latest run, a ' +
    `${m.mode} run of ${m.date.slice(0, 10)} on a ${m.cores}-core machine ` +
    '([docs/benchmarks.md](docs/benchmarks.md), with the plot, the method and every target):';
  return [
    wrap(intro),
    '',
    comparison(run, n),
    '',
    wrap([heraldSummary(run), targetSummary(targets)].filter(Boolean).join(' ')),
  ].join('\n');
}
