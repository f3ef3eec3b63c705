import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { dirname } from 'node:path';
import { runScale, type ScaleResult } from './scale.js';
import type { ScaleProtocol } from './scale-site.js';
import { COUNTING_NOTE, markdownTable, SIM_SCALE_JSON, textTable, type ScaleReport } from './scale-report.js';

export interface ScaleCommandOptions {
  sizes: number[];
  /** Which protocols to run at each size: the default, and today's (`heartbeatScaling: false`). */
  protocols: ScaleProtocol[];
  devices: number;
  json?: string;
  /** Keep the JSON file's other results (other sizes or protocols), replacing only those measured again. */
  append?: boolean;
  idleSeconds?: number;
  lossSeconds: number;
  changes: number;
}

/**
 * Today's protocol puts N heartbeats a second on the LAN, each handed to N sockets: N² deliveries per
 * simulated second. From this size on its windows are shortened so that a run ends in minutes.
 */
const BASELINE_SHORT_FROM = 500;

/** `npm run swarm -- --scale`: every size (and protocol) in turn, a table, and the JSON for the bench and docs. */
export async function scaleCommand(opts: ScaleCommandOptions): Promise<void> {
  if (respawnedWithRoom(opts)) return;
  const results: ScaleResult[] = [];
  const kept = opts.append && opts.json && existsSync(opts.json) ? keptResults(opts.json) : [];
  const commit = machine().commit;
  for (const size of opts.sizes) {
    for (const protocol of opts.protocols) {
      const short = protocol === 'baseline' && size >= BASELINE_SHORT_FROM;
      const t = performance.now();
      const result = await runScale({
        size,
        protocol,
        devicesPerAgent: opts.devices,
        idleSeconds: short ? Math.min(2, opts.idleSeconds ?? 2) : opts.idleSeconds,
        lossSeconds: opts.lossSeconds,
        changes: short ? Math.min(2, opts.changes) : opts.changes,
        short,
        onPhase: (phase) =>
          process.stderr.write(
            `\r${size} agents, ${protocol}: ${phase} (${((performance.now() - t) / 1000).toFixed(0)} s)   `,
          ),
      });
      process.stderr.write('\n');
      result.commit = commit;
      if (short)
        console.log(
          `(today's protocol at ${size}: a short run, idle 2 s, no loss, vanish or newcomer phase: ` +
            `N heartbeats a second to N sockets is too slow to simulate in full)`,
        );
      results.push(result);
      // Written after every size: a long run stopped half-way keeps what it measured.
      if (opts.json) writeReport(opts.json, merged(kept, results));
    }
  }
  console.log(textTable(results));
  console.log(`\n${COUNTING_NOTE}`);
  if (opts.json) console.log(`written to ${opts.json}`);
}

/** The file's results, each with the commit it was measured at (older ones: the file's own). */
function keptResults(file: string): ScaleResult[] {
  const report = readReport(file);
  return report.results.map((r) => ({ ...r, commit: r.commit ?? report.ran.commit }));
}

function readReport(file: string): ScaleReport {
  return JSON.parse(readFileSync(file, 'utf8')) as ScaleReport;
}

/** Earlier results not measured again, then the new ones; ordered by size, the default protocol first. */
function merged(kept: ScaleResult[], fresh: ScaleResult[]): ScaleResult[] {
  const key = (r: ScaleResult) => `${r.size}/${r.protocol}`;
  const again = new Set(fresh.map(key));
  return [...kept.filter((r) => !again.has(key(r))), ...fresh].sort(
    (a, b) => a.size - b.size || a.protocol.localeCompare(b.protocol),
  );
}

function writeReport(file: string, results: ScaleResult[]): void {
  const report: ScaleReport = { ran: machine(), results };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}

/**
 * Every agent holds every device: N² × devices records in one process, about 0.7 kB each in the
 * simulator (decoded catch-up answers shared). Past Node's default heap (about 4 GB) the command runs
 * itself again with room; true when it did (the child's exit code is this one's).
 */
function respawnedWithRoom(opts: ScaleCommandOptions): boolean {
  const largest = Math.max(...opts.sizes);
  const needMb = Math.ceil((largest * largest * opts.devices * 800 + largest * 2e6) / 1e6) + 1024;
  const haveMb = getHeapStatistics().heap_size_limit / 1e6;
  // Most of a large site's garbage is per-datagram and per-request: a young generation of 64 MB lets it
  // die there instead of being promoted and marked again and again in a heap of gigabytes (a third less
  // wall time at 500 agents).
  const young = largest >= 500 && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size'));
  if (needMb <= haveMb && !young) return false;
  console.log(`(${largest} agents × ${opts.devices} devices need about ${needMb} MB of heap: running with that)`);
  const flags = [`--max-old-space-size=${Math.max(needMb, Math.round(haveMb))}`, '--max-semi-space-size=64'];
  const child = spawnSync(process.execPath, [...flags, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exitCode = child.status ?? 1;
  return true;
}

function machine(): ScaleReport['ran'] {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the figures still stand, without their commit
  }
  return {
    at: new Date().toISOString(),
    commit,
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
  };
}

const BEGIN = '<!-- sim-scale: generated by `npm run swarm -- --scale-doc`; do not edit by hand -->';
const END = '<!-- sim-scale: end -->';

/** Writes docs/benchmarks.md's "Scale in the simulator" section from a JSON report (the figures are not typed). */
export function scaleDoc(jsonFile = SIM_SCALE_JSON, docFile = 'docs/benchmarks.md'): void {
  const report = readReport(jsonFile);
  const r = report.ran;
  const section = [
    BEGIN,
    `Measured ${r.at.slice(0, 16).replace('T', ' ')} UTC at commit ${r.commit} (each column's own in its last row), Node ${r.node}, ${r.cpus} × ${r.cpu}; ` +
      `${report.results[0]?.devicesPerAgent ?? 10} devices per agent, heartbeat settings at their defaults ` +
      `(\`${jsonFile}\`). "default" is the protocol as built; "today" runs it with \`heartbeatScaling: false\`.`,
    '',
    markdownTable(report.results),
    '',
    COUNTING_NOTE,
    END,
  ].join('\n');
  const doc = readFileSync(docFile, 'utf8');
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  const next =
    begin >= 0 && end > begin
      ? doc.slice(0, begin) + section + doc.slice(end + END.length)
      : `${doc.trimEnd()}\n\n## Scale in the simulator\n\n${SECTION_INTRO}\n\n${section}\n`;
  writeFileSync(docFile, next);
}

const SECTION_INTRO =
  '`npm run swarm -- --scale [--sizes 50,200,500,1000] [--baseline] [--json ' +
  SIM_SCALE_JSON +
  ']` runs one simulated site per size through cold start, an idle window, changes at 0 % and 30 % datagram ' +
  'loss, a crash, a vanished host and a newcomer, on the in-memory network and fake clock (the real Agent ' +
  "code), with a cost model wrapped around each agent's transport, peer client and peer service " +
  "(`test/swarm/cost.ts`). The figures are simulated time; real RSS and CPU are the bench's. " +
  '`npm run swarm -- --scale-doc` regenerates the table below from the JSON.';
