import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exactly, laneOf, testFiles, type Lane } from './lanes.js';

/**
 * `npm test`'s runner: the test files in uvu processes that run at once, the real-time lane and the cpu lane
 * (lanes.ts says which file runs where and why), the cpu lane's files dealt to one process a core. The real-time
 * files mostly sleep on sockets and processes while the simulator's keep a core busy each, so on the 2-core build
 * machine the run takes about the longest lane's time instead of the sum. The cpu lane runs at a lower priority
 * (`nice`): when a real-time file needs the processor (an agent per namespace), it gets it, and its millisecond
 * bounds see the machine nearly as they did when every file ran in one process; the cpu lane's results do not
 * depend on when it gets the processor.
 *
 *   node dist/test/helpers/run-lanes.js [pattern]    (pattern: a regex on the path under dist/test, as uvu's)
 *
 * Each lane is the usual command (node --import no-unhandled.js uvu dist/test PATTERN), so a lane's output is
 * uvu's own. One lane's output is shown live and the others' held until it ends, never interleaved: a failure
 * stays under its file's name, where .ci/run's failure list looks for it. The run fails if any lane fails.
 */
/**
 * 5, not more: the real-time lane wins a contended core 3 to 1 (CFS weights 1024 : 335). Its bounds held with the
 * cpu lanes at the same priority on a machine at load 10-22 (222 of 222 passed, 2026-11-29); at 10 more (weight
 * 110) the cpu lanes all but stopped whenever other work at the runner's own priority shared the machine.
 */
const CPU_NICENESS = 5;
/**
 * The cpu lane's files, dealt in turn to this many uvu processes (HERALD_TEST_CPU_LANES; one a core by default):
 * they wait on nothing, so on 2 cores two of them and the mostly sleeping real-time lane keep both cores busy.
 */
const CPU_SHARDS = Math.max(1, Number(process.env.HERALD_TEST_CPU_LANES ?? availableParallelism()) || 1);
const here = dirname(fileURLToPath(import.meta.url)); // dist/test/helpers
const repo = resolve(here, '..', '..', '..');
// HERALD_TEST_ROOT: another compiled tree's tests (test/lanes.test.ts runs the runner on a made-up one).
const root = process.env.HERALD_TEST_ROOT ?? resolve(here, '..');
const dist = resolve(root, '..');

interface LaneRun {
  name: string;
  lane: Lane;
  files: string[];
  proc: ChildProcess;
  held: Buffer[];
  startedAt: number;
  seconds?: number;
  code?: number | null;
  signal?: NodeJS.Signals | null;
  output: string;
}

function start(name: string, lane: Lane, files: string[]): LaneRun {
  const imports = [join(here, 'no-unhandled.js')];
  if (lane === 'cpu') imports.push(join(here, 'cpu-lane-guard.js'));
  const node = [
    ...imports.flatMap((f) => ['--import', pathToFileURL(f).href]),
    join(repo, 'node_modules', 'uvu', 'bin.js'),
    root,
    exactly(files),
  ];
  // `nice` before exec, so that every thread of the lane (the swarm's workers too) starts at that priority.
  const [command, args] =
    lane === 'cpu' ? ['nice', ['-n', String(CPU_NICENESS), process.execPath, ...node]] : [process.execPath, node];
  const proc = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  return { name, lane, files, proc, held: [], startedAt: Date.now(), output: '' };
}

/** Shows one lane live and holds the others' output until the shown one ends; then the next is shown. */
function show(runs: LaneRun[]): Promise<void> {
  let shown: LaneRun | undefined;
  const flush = (run: LaneRun) => {
    if (run.held.length > 0) process.stdout.write(Buffer.concat(run.held.splice(0)));
  };
  const write = (run: LaneRun, chunk: Buffer) => {
    run.output += chunk.toString('utf8');
    if (shown === undefined) shown = run;
    if (shown === run) process.stdout.write(chunk);
    else run.held.push(chunk);
  };
  const ended = runs.map(
    (run) =>
      new Promise<void>((done) => {
        run.proc.stdout!.on('data', (chunk: Buffer) => write(run, chunk));
        run.proc.stderr!.on('data', (chunk: Buffer) => write(run, chunk));
        run.proc.once('close', (code, signal) => {
          run.code = code;
          run.signal = signal;
          run.seconds = (Date.now() - run.startedAt) / 1000;
          if (shown === run || shown === undefined) {
            // Lanes that ended while this one was shown first, each whole; then the next running lane, live.
            for (const r of runs) if (r.code !== undefined) flush(r);
            shown = runs.find((r) => r.code === undefined);
            if (shown !== undefined) flush(shown);
          }
          done();
        });
      }),
  );
  return Promise.all(ended).then(() => runs.forEach(flush));
}

function count(output: string, label: string): number {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  return Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? 0);
}

function summary(runs: LaneRun[], startedAt: number): boolean {
  const ok = runs.every((r) => r.code === 0);
  const lines = runs.map((r) => {
    const how = r.code === 0 ? 'passed' : `failed (${r.signal ?? `exit ${String(r.code)}`})`;
    return `  ${r.name} lane: ${r.files.length} files, ${count(r.output, 'Total')} tests, ${r.seconds!.toFixed(1)} s, ${how}`;
  });
  const total = (label: string) => runs.reduce((sum, r) => sum + count(r.output, label), 0);
  process.stdout.write(
    `\n${lines.join('\n')}\n  Total:     ${total('Total')}\n  Passed:    ${total('Passed')}\n` +
      `  Skipped:   ${total('Skipped')}\n  Duration:  ${((Date.now() - startedAt) / 1000).toFixed(1)} s (all lanes at once)\n\n`,
  );
  return ok;
}

async function main(): Promise<void> {
  const pattern = new RegExp(process.argv[2] ?? '\\.test\\.js$', 'i');
  const seen = new Map<string, string>();
  const realTime: string[] = [];
  const cpu: string[][] = Array.from({ length: CPU_SHARDS }, () => []);
  let next = 0;
  for (const name of testFiles(root, pattern)) {
    if (laneOf(join(root, name), dist, seen).lane === 'real-time') realTime.push(name);
    else cpu[next++ % CPU_SHARDS].push(name);
  }
  const startedAt = Date.now();
  const lanes: [string, Lane, string[]][] = [
    ['real-time', 'real-time', realTime],
    ...cpu.map((files, i): [string, Lane, string[]] => [
      CPU_SHARDS > 1 ? `cpu ${i + 1}/${CPU_SHARDS}` : 'cpu',
      'cpu',
      files,
    ]),
  ];
  const runs = lanes.filter(([, , files]) => files.length > 0).map(([name, lane, files]) => start(name, lane, files));
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => runs.forEach((r) => r.proc.kill(signal)));
  await show(runs);
  process.exitCode = summary(runs, startedAt) ? 0 : 1;
}

await main();
