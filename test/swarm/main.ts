import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { ViolationKind } from './invariants.js';
import { minimise } from './minimise.js';
import { largestFirst, runSwarm, type SwarmSummary } from './pool.js';
import { runScenario } from './run-seed.js';
import { scaleCommand, scaleDoc } from './scale-command.js';
import { SIM_SCALE_JSON } from './scale-report.js';
import { drawScenario, LARGEST_SITE, type Scenario } from './scenario.js';
import { spreeCommand } from './spree.js';
import { carriesCommand } from './carries.js';

/**
 * `npm run swarm`: many seeds of whole-site simulations under random faults, with the invariants
 * checked on each. `--seed X` replays one seed with its trace; `--minimise` shrinks its fault list.
 */
const REGRESSIONS = 'test/swarm/regressions.json';
/** The most seeds `--storm` hands out: a storm seed is a large site, tens of seconds each. */
const STORM_SEEDS = 500;

const whole = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};

function sizes(value: string): number[] {
  const list = value.split(',').map((x) => Number(x.trim()));
  if (list.some((n) => !Number.isSafeInteger(n) || n < 2))
    throw new InvalidArgumentError('expected site sizes of 2 or more, comma-separated');
  return list;
}

const program = new Command('swarm')
  .description('deterministic simulation swarm: random sites and fault schedules, invariants checked per seed')
  .option('--seeds <n>', 'seeds to run (default 1000, or unbounded with --seconds)', whole)
  .option('--seconds <s>', 'stop handing out seeds after this many seconds', whole)
  .option('--first <n>', 'first seed of the run', whole, 1)
  .option('--seed <x>', 'replay this one seed and print its trace', whole)
  .option('--grep <regexp>', 'with --seed: print only trace lines matching this')
  .option('--minimise', 'with --seed: shrink the failing fault schedule, then print the short trace')
  .option('--scenario <file>', 'replay a scenario saved by --minimise (a shrunk schedule) instead of a seed')
  .option('--kind <kind>', 'with --minimise: keep only this invariant failing (default: every one that failed)')
  .option(
    '--max-agents <n>',
    `largest site drawn (2 to ${LARGEST_SITE}; over 60, 2 % of seeds draw 61 or more)`,
    whole,
    60,
  )
  .option('--storm', 'run only the seeds that draw a storm (many agents late together on a large site, storm.ts)')
  .option('--deaf', 'run only the --seeds that draw a host deaf to multicast (IGMP snooping, deaf.ts)')
  .option(
    '--host-faults',
    'draw hosts that move or freeze while running (moves.ts, freeze.ts): the default of a random search since ' +
      'hostf15; a --seed or --scenario replay draws them only with this',
  )
  .option('--no-host-faults', 'a random search without them (as before hostf15; --regressions and --record too)')
  .option('--spree', 'run --seeds (default 200) seeds of bursts of changes on many origins at once, spree.ts')
  .option(
    '--carries',
    "count a burst's ring rounds and carries: the bench's change phases at --sizes (first), seed --first",
  )
  .option('--regressions', `replay every case of ${REGRESSIONS}, with the large ones npm test leaves out (heldBy)`)
  .option('--workers <n>', 'worker threads (default: one per core)', whole)
  .option('--json <file>', 'write the summary (every failing seed) to this file')
  .option('--record', `add every failing seed to ${REGRESSIONS} as a known-failing regression case`)
  .option('--scale', 'measure cost and timing at each of --sizes instead of running seeds (issue 18)')
  .option('--sizes <list>', 'with --scale: site sizes, comma-separated', sizes, [50, 200, 500, 1000])
  .option('--baseline', "with --scale: also run today's protocol (heartbeatScaling: false) at each size")
  .option('--baseline-only', "with --scale: run only today's protocol")
  .option('--append', "with --scale --json: keep the file's results of other sizes and protocols")
  .option('--devices <n>', 'with --scale: devices per agent', whole, 10)
  .option('--idle <s>', 'with --scale: simulated seconds of the idle window (default: 10, or 0.08 s an agent)', whole)
  .option('--loss-window <s>', 'with --scale: simulated seconds at 30 % datagram loss (at least)', whole, 30)
  .option('--changes <n>', 'with --scale: changes timed at 0 % and again at 30 % loss', whole, 5)
  .option('--scale-doc [file]', `write docs/benchmarks.md's simulator scale table from this JSON (${SIM_SCALE_JSON})`)
  .parse();

const opts = program.opts<{
  seeds?: number;
  seconds?: number;
  first: number;
  seed?: number;
  grep?: string;
  minimise?: boolean;
  kind?: ViolationKind;
  scenario?: string;
  maxAgents: number;
  storm?: boolean;
  deaf?: boolean;
  hostFaults?: boolean;
  spree?: boolean;
  carries?: boolean;
  regressions?: boolean;
  workers?: number;
  json?: string;
  record?: boolean;
  scale?: boolean;
  sizes: number[];
  baseline?: boolean;
  baselineOnly?: boolean;
  append?: boolean;
  devices: number;
  idle?: number;
  lossWindow: number;
  changes: number;
  scaleDoc?: string | true;
}>();
// Read by drawScenario in this thread and in the workers, which inherit the environment when made. A random
// search draws them unless told not to; regression cases (and the seeds --record keeps as such) never had them.
const replaying = opts.seed !== undefined || opts.scenario !== undefined || opts.regressions || opts.record;
const randomSearch = !replaying && !opts.scaleDoc && !opts.scale && !opts.carries && !opts.spree;
const hostFaults = opts.hostFaults ?? randomSearch;
if (hostFaults) process.env.HERALD_SWARM_HOST_FAULTS = '1';

if (opts.scaleDoc) scaleDoc(opts.scaleDoc === true ? undefined : opts.scaleDoc);
else if (opts.scale)
  await scaleCommand({
    sizes: opts.sizes,
    protocols: opts.baselineOnly ? ['baseline'] : opts.baseline ? ['default', 'baseline'] : ['default'],
    devices: opts.devices,
    json: opts.json,
    append: opts.append,
    idleSeconds: opts.idle,
    lossSeconds: opts.lossWindow,
    changes: opts.changes,
  });
else if (opts.carries) await carriesCommand({ seed: opts.first, agents: opts.sizes[0], losses: [0, 0.3, 0.3, 0.3] });
else if (opts.spree) process.exitCode = (await spreeCommand(opts.first, opts.seeds ?? 200)) > 0 ? 1 : 0;
else if (opts.seed !== undefined || opts.scenario) await replay(opts.seed ?? 0);
else await swarm();

async function replay(seed: number): Promise<void> {
  let scenario = opts.scenario
    ? (JSON.parse(readFileSync(opts.scenario, 'utf8')) as Scenario)
    : drawScenario(seed, { maxAgents: opts.maxAgents });
  let result = await runScenario(scenario, true);
  if (opts.minimise && !result.ok) {
    const before = scenario.faults.length;
    const shrunk = await minimise(scenario, opts.kind ? [opts.kind] : result.kinds, {
      onStep: (n, runs) => process.stderr.write(`\rminimising: ${n} faults left after ${runs} runs   `),
    });
    process.stderr.write('\n');
    scenario = shrunk.scenario;
    result = await runScenario(scenario, true);
    const file = `swarm-${seed}-minimised.json`;
    writeFileSync(file, JSON.stringify(scenario) + '\n');
    console.log(
      `minimised from ${before} to ${scenario.faults.length} faults in ${shrunk.runs} runs (saved in ${file}):`,
    );
    for (const f of scenario.faults) console.log(`  ${JSON.stringify(f)}`);
  }
  const filter = opts.grep ? new RegExp(opts.grep) : undefined;
  console.log(`seed ${scenario.seed}: ${scenario.agents.length} agents, ${scenario.faults.length} faults`);
  for (const a of scenario.agents) console.log(`  ${a.name}: ${a.mode}, ${a.devices} devices, joins at ${a.joinAt} ms`);
  for (const line of result.trace ?? []) if (!filter || filter.test(line)) console.log(line);
  console.log(result.ok ? 'every invariant held' : `FAILED: ${result.kinds.join(', ')} (${result.classes.join('; ')})`);
  process.exitCode = result.ok ? 0 : 1;
}

async function swarm(): Promise<void> {
  const seeds = opts.seeds ?? (opts.seconds !== undefined ? Number.MAX_SAFE_INTEGER - opts.first : 1000);
  const summary = await runSwarm({
    first: opts.first,
    seeds,
    ...(opts.storm && { list: seedsWith('storm', opts.first, Math.min(seeds, STORM_SEEDS), opts.maxAgents) }),
    ...(opts.deaf && { list: seedsWith('deaf', opts.first, seeds, opts.maxAgents) }),
    ...(opts.regressions && { list: largestFirst(regressionCases()), chunk: 1 }),
    seconds: opts.seconds,
    workers: opts.workers,
    maxAgents: opts.maxAgents,
    onProgress: (s) => process.stderr.write(`\r${progress(s)}   `),
  });
  process.stderr.write(`\r${progress(summary)}   \n`);
  console.log(report(summary, opts.first));
  if (opts.json) writeFileSync(opts.json, JSON.stringify(summary, null, 2) + '\n');
  if (opts.record) record(summary);
  process.exitCode = summary.failures.length === 0 ? 0 : 1;
}

/**
 * The first `count` seeds from `first` whose draw has a fault of `kind` (a storm: about 2 % with --max-agents 200;
 * a deaf host: one in 8): the same schedules as in a whole run.
 */
function seedsWith(
  kind: 'storm' | 'deaf',
  first: number,
  count: number,
  maxAgents: number,
): { seed: number; maxAgents: number }[] {
  const out: { seed: number; maxAgents: number }[] = [];
  for (let seed = first; out.length < count && seed < first + 1000 * count; seed++)
    if (drawScenario(seed, { maxAgents }).faults.some((f) => f.kind === kind)) out.push({ seed, maxAgents });
  return out;
}

function progress(s: SwarmSummary): string {
  const rate = s.seeds / Math.max(0.001, s.elapsedMs / 1000);
  const now = performance.now();
  const slow = [...s.inFlight].filter(([, since]) => now - since > 30_000).map(([seed]) => seed);
  return (
    `${s.seeds} seeds (${rate.toFixed(1)}/s), ${s.failures.length} failing, ${s.agentHours.toFixed(1)} agent-hours` +
    (slow.length > 0 ? `; running over 30 s: seed ${slow.join(', ')}` : '')
  );
}

function report(s: SwarmSummary, first: number): string {
  const lines = [
    `seeds run: ${s.seeds} (from ${first}) in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `simulated agent-hours: ${s.agentHours.toFixed(1)}`,
    `failing seeds: ${s.failures.length}`,
  ];
  const flag = hostFaults ? ' --host-faults' : '';
  if (s.failures.length > 0)
    lines.push(
      `  replay: node dist/test/swarm/main.js${flag} --seed ${s.failures[0].seed} --max-agents ${opts.maxAgents}`,
    );
  const byClass = new Map<string, number[]>();
  for (const f of s.failures) for (const c of f.classes) byClass.set(c, [...(byClass.get(c) ?? []), f.seed]);
  for (const [kind, n] of Object.entries(s.byKind)) lines.push(`  invariant ${kind}: ${n} seeds`);
  for (const [cls, seeds] of [...byClass].sort()) {
    const firstSeed = Math.min(...seeds);
    lines.push(
      `  ${cls}: ${seeds.length} seeds; first ${firstSeed} (the ${firstSeed - first + 1}th seed run); ` +
        `e.g. ${seeds.slice(0, 8).join(' ')}`,
    );
  }
  return lines.join('\n');
}

/** Every case of regressions.json: those test/swarm.test.ts replays, and the large ones it leaves here (heldBy). */
function regressionCases(): { seed: number; maxAgents: number }[] {
  return JSON.parse(readFileSync(REGRESSIONS, 'utf8')) as { seed: number; maxAgents: number }[];
}

/** Keeps failing seeds as regression cases (test/swarm.test.ts replays them all). */
function record(s: SwarmSummary): void {
  const kept = regressionCases();
  const have = new Set(kept.map((r) => `${r.seed}/${r.maxAgents}`));
  for (const f of s.failures) {
    if (have.has(`${f.seed}/${opts.maxAgents}`)) continue;
    kept.push({
      seed: f.seed,
      maxAgents: opts.maxAgents,
      found: f.kinds,
      classes: f.classes,
      knownFailing: true,
      note: f.violations[0] ? `${f.violations[0].viewer ?? ''}: ${f.violations[0].detail}` : '',
    } as (typeof kept)[number]);
  }
  kept.sort((a, b) => a.maxAgents - b.maxAgents || a.seed - b.seed);
  writeFileSync(REGRESSIONS, `[\n${kept.map((r) => `  ${JSON.stringify(r)}`).join(',\n')}\n]\n`);
}
