import { site1000Section } from '../footprint-1000-report.js';
import type { BenchRun } from '../run.js';
import type { JudgedTarget } from '../targets.js';
import { fmt, table } from './format.js';
import { scaleSection } from './scale.js';
import { floodTable, footprintTable, lifecycleTable, propagationTable } from './tables.js';

/** The report printed at the end of a run and written between docs/benchmarks.md's markers. */

function machineLine({ machine: m }: BenchRun): string {
  return (
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node.js ${m.node}, Linux ${m.kernel}; ` +
    `${m.mode} run of ${m.date}; heartbeat ${m.heartbeatMs} ms for every system.`
  );
}

function floodSection({ results: { flood } }: BenchRun): string {
  if (!flood) return '';
  const title = `A keyed site of ${flood.agents} agents under ${fmt(flood.junkPerSecond, 0)} junk datagrams a second`;
  return `### ${title}\n\n${floodTable(flood)}\n`;
}

function footprintSection({ service: { memory } }: BenchRun): string {
  if (!memory) return '';
  const title =
    "One agent joining a site of 100 agents holding 5,000 devices, with the unit's Node flags and with Node's defaults";
  return `### ${title}\n\n${footprintTable(memory)}\n`;
}

function skippedLine({ service: { skipped } }: BenchRun): string {
  return skipped.length ? `Not measured in this run: ${skipped.join('; ')}.\n` : '';
}

export function markdownReport(run: BenchRun, targets: JudgedTarget[]): string {
  const targetTable = table(
    ['target', 'measured', ''],
    targets.map((t) => [t.target, t.value, t.met]),
  );
  return (
    `${machineLine(run)}\n\n` +
    `### Propagation of ${run.plan.changes} changes (one device updated each), all agents in one process on loopback` +
    `\n\n${propagationTable(run.results)}\n\n` +
    `### Idle, cold start, crash\n\n${lifecycleTable(run.plan, run.results)}\n\n` +
    `${floodSection(run)}\n` +
    scaleSection(run.results.scale, run.results.catchUpCost) +
    `${footprintSection(run)}\n` +
    `${site1000Section(run)}\n` +
    `${skippedLine(run)}\n` +
    `### Targets (Herald)\n\n${targetTable}\n`
  );
}
