import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

/**
 * README's benchmark paragraph, generated from the results section that `npm run bench -- --docs`
 * writes into docs/benchmarks.md, so that the two never disagree and no figure is typed by hand. The
 * bench's docs step calls updateReadme(); `node dist/bench/readme.js` regenerates it from the current
 * docs/benchmarks.md without running the bench.
 */

type Row = Record<string, string>;

/** The rows of the markdown table under `### <heading…>` in the results section, by column name. */
export function tableAfter(doc: string, heading: RegExp): Row[] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.startsWith('### ') && heading.test(l));
  if (start < 0) throw new Error(`docs/benchmarks.md: no table under a heading matching ${String(heading)}`);
  const table = lines
    .slice(start + 1)
    .filter((l, i, all) => l.startsWith('|') && all.slice(0, i).every((p) => p === '' || p.startsWith('|')));
  const cells = (l: string) =>
    l
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
  const [header, , ...rows] = table.map(cells);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

interface Summary {
  run: string;
  rows: { label: string; herald: string; fullState: string; polling: string }[];
  undelivered: number;
  met: number;
  targets: Row[];
}

export function summarize(doc: string): Summary {
  const section = /<!-- results:start -->([\s\S]*)<!-- results:end -->/.exec(doc)?.[1];
  if (!section) throw new Error('docs/benchmarks.md: no results section (run npm run bench -- --docs)');
  const run = /full run of ([\dT:.\-Z]+)/.exec(section)?.[1] ?? 'the latest run';
  const propagation = tableAfter(section, /^### Propagation/);
  const idle = tableAfter(section, /^### Idle/);
  const at = (system: string, loss: string) =>
    propagation.find((r) => r.system === system && r.agents === '50' && r.loss === loss);
  const idleOf = (system: string) => idle.find((r) => r.system === system && r.agents === '50');
  const p99 = (system: string, loss: string) => at(system, loss)?.p99 ?? '(not run)';
  const targets = tableAfter(section, /^### Targets/);
  return {
    run,
    rows: [
      {
        label: 'p99 of a change reaching every agent, 0 % loss',
        herald: p99('herald', '0 %'),
        fullState: p99('full-state', '0 %'),
        polling: p99('http-polling', '0 %'),
      },
      {
        label: 'p99 at 30 % datagram loss',
        herald: p99('herald', '30 %'),
        fullState: p99('full-state', '30 %'),
        polling: '(no datagrams)',
      },
      {
        label: 'idle bytes per second per agent',
        herald: idleOf('herald')?.['idle bytes/s per agent'] ?? '',
        fullState: idleOf('full-state')?.['idle bytes/s per agent'] ?? '',
        polling: idleOf('http-polling')?.['idle bytes/s per agent'] ?? '',
      },
      {
        label: 'crashed agent seen as lost everywhere',
        herald: idleOf('herald')?.['crash lost everywhere'] ?? '',
        fullState: idleOf('full-state')?.['crash lost everywhere'] ?? '',
        polling: idleOf('http-polling')?.['crash lost everywhere'] ?? '',
      },
    ],
    undelivered: propagation
      .filter((r) => r.system.startsWith('herald'))
      .reduce((n, r) => n + Number(r['undelivered (30 s)'] || 0), 0),
    met: targets.filter((t) => t[''] === 'met').length,
    targets,
  };
}

export function renderReadme(s: Summary): string {
  const table = [
    '| 50 agents, heartbeat 1 s | Herald | full-state multicast | HTTP polling |',
    '| --- | --- | --- | --- |',
    ...s.rows.map((r) => `| ${r.label} | ${r.herald} | ${r.fullState} | ${r.polling} |`),
  ].join('\n');
  const find = (re: RegExp) => s.targets.find((t) => re.test(t.target));
  const memory = find(/^RSS/);
  const cpu = find(/^idle CPU/);
  const missed = s.targets.filter((t) => t[''] !== 'met');
  const verdict =
    missed.length === 0
      ? `All ${s.targets.length} targets were met`
      : `${s.met} of ${s.targets.length} targets were met; not met: ${missed.map((t) => `${t.target} (${t.measured})`).join('; ')}`;
  return `From the run of ${s.run} on this 2-core machine ([docs/benchmarks.md](docs/benchmarks.md), with the
plot, the method and every figure):

${table}

${verdict}. Herald left ${s.undelivered} change${s.undelivered === 1 ? '' : 's'} undelivered across its runs at 0 to 60 % loss.
${memory ? `Memory holding 5,000 devices from 100 agents: ${memory.measured}. ` : ''}${cpu ? `Idle CPU with 100 peers heartbeating: ${cpu.measured}.` : ''}`;
}

const START = '<!-- bench:start: generated from docs/benchmarks.md by `npm run bench -- --docs`; do not edit -->';
const END = '<!-- bench:end -->';

/** Rewrites the paragraph between README.md's bench markers. */
export async function updateReadme(docsFile = 'docs/benchmarks.md', readmeFile = 'README.md'): Promise<void> {
  const paragraph = renderReadme(summarize(await readFile(docsFile, 'utf8')));
  const readme = await readFile(readmeFile, 'utf8');
  const i = readme.indexOf(START);
  const j = readme.indexOf(END);
  if (i < 0 || j < i) throw new Error(`${readmeFile}: no ${START} … ${END} markers`);
  await writeFile(readmeFile, `${readme.slice(0, i + START.length)}\n${paragraph}\n${readme.slice(j)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await updateReadme();
  process.stderr.write('updated README.md from docs/benchmarks.md\n');
}
