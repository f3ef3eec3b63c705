import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { BenchRun } from '../run.js';
import type { JudgedTarget } from '../targets.js';
import { readmeParagraph } from './readme.js';
import { scalePlot } from './scale.js';

/** What a run leaves behind: bench-results/, and with --docs docs/benchmarks.md and the README's paragraph. */

export class MissingMarkers extends Error {
  constructor(
    readonly file: string,
    readonly begin: string,
    readonly end: string,
  ) {
    super(`${file}: no ${begin} ... ${end} markers to write the bench figures between; add them and run again`);
  }
}

/** Replaces what stands between the two marker lines, and nothing else. */
export function betweenMarkers(file: string, text: string, begin: string, end: string, inner: string): string {
  const from = text.indexOf(begin);
  const to = text.indexOf(end, from + begin.length);
  if (from < 0 || to < 0) throw new MissingMarkers(file, begin, end);
  return `${text.slice(0, from)}${begin}\n${inner}\n${text.slice(to)}`;
}

async function rewrite(file: string, begin: string, end: string, inner: string): Promise<void> {
  await writeFile(file, betweenMarkers(file, await readFile(file, 'utf8'), begin, end, inner));
}

/** The JSON keys are those the bench has always written: machine, plan, results, service, targets. */
export async function writeResults(run: BenchRun, targets: JudgedTarget[], svg: string): Promise<void> {
  const { machine, plan, results, service } = run;
  const json = {
    machine,
    plan: { ...plan, systems: plan.systems.map((p) => ({ ...p, system: p.system.name })) },
    results,
    service,
    targets,
  };
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/latest.json', JSON.stringify(json, null, 2));
  await writeFile('bench-results/latency.svg', svg);
  if (results.scale.length) await writeFile('bench-results/scale.svg', scalePlot(results.scale));
  process.stderr.write('wrote bench-results/latest.json and bench-results/latency.svg\n');
}

export async function writeDocs(run: BenchRun, targets: JudgedTarget[], report: string, svg: string): Promise<void> {
  const plot = '![p99 latency against loss](benchmarks-latency.svg)';
  await rewrite('docs/benchmarks.md', '<!-- results:start -->', '<!-- results:end -->', `${report}\n${plot}`);
  await writeFile('docs/benchmarks-latency.svg', svg);
  if (run.results.scale.length) await writeFile('docs/benchmarks-scale.svg', scalePlot(run.results.scale));
  await rewrite('README.md', '<!-- bench:begin -->', '<!-- bench:end -->', readmeParagraph(run, targets));
  process.stderr.write('updated docs/benchmarks.md, docs/benchmarks-latency.svg and README.md\n');
}
