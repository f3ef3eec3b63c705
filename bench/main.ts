import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { latencyPlot } from './plot.js';
import { updateReadme } from './readme.js';
import { fullGc, median } from './stats.js';
import { generateKey, parseKeyRing } from '../src/security/cluster-key.js';
import type { Footprint } from './footprint.js';
import { serviceTargets } from './service-targets.js';
import {
  coldStart,
  crash,
  idle,
  junkFlood,
  propagation,
  protocolCpuPerChange,
  type ColdStartResult,
  type CrashResult,
  type FloodResult,
  type IdleResult,
  type PropagationResult,
} from './scenarios.js';
import type { BenchSystem } from './system.js';
import { fullStateMulticast } from './systems/full-state.js';
import { heraldKeyed, heraldMdns, heraldMulticast, startHerald } from './systems/herald.js';
import { mdnsOnly } from './systems/mdns-only.js';
import { httpPolling } from './systems/http-polling.js';

/**
 * npm run bench [-- --quick] [-- --docs]
 * Herald and the designs a user would otherwise deploy, on the same machine, in the same run, on the
 * same scenarios. Figures are compared as ratios to Herald, measured in this run.
 */
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const writeDocs = args.has('--docs');
const HEARTBEAT_MS = 1000;
const outageArg = process.argv.indexOf('--mqtt-outage-seconds');
const OUTAGE_SECONDS = outageArg > 0 ? Number(process.argv[outageArg + 1]) : quick ? 5 : 30;

interface SystemPlan {
  system: BenchSystem;
  sizes: number[];
  losses: number[];
  /** Idle, cold start and crash runs too (the quick run keeps them for Herald only). */
  lifecycle: boolean;
}

interface Plan {
  changes: number;
  intervalMs: number;
  idleSeconds: number;
  systems: SystemPlan[];
  flood: { agents: number; junkPerSecond: number; seconds: number } | undefined;
  /** Open and keyed Herald run alternately, so that machine noise falls on both alike. */
  authPairs: { pairs: number; agents: number; changes: number };
}

// Polling is over TCP: datagram loss does not touch it, so it runs at 0 % only; above 50 agents it
// saturates this 2-core machine. mDNS systems run at 20 agents, the size of the mDNS issue's target.
const plan: Plan = quick
  ? {
      changes: 40,
      intervalMs: 20,
      idleSeconds: 2,
      flood: undefined,
      authPairs: { pairs: 2, agents: 50, changes: 100 },
      systems: [
        { system: heraldMulticast, sizes: [50], losses: [0, 0.3], lifecycle: true },
        { system: heraldMdns, sizes: [10], losses: [0], lifecycle: false },
        { system: fullStateMulticast, sizes: [10], losses: [0, 0.3], lifecycle: false },
        { system: httpPolling, sizes: [10], losses: [0], lifecycle: false },
        { system: mdnsOnly, sizes: [10], losses: [0], lifecycle: false },
      ],
    }
  : {
      changes: 200,
      intervalMs: 25,
      idleSeconds: 5,
      flood: { agents: 10, junkPerSecond: 5000, seconds: 5 },
      authPairs: { pairs: 5, agents: 50, changes: 300 },
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

const results = {
  propagation: [] as PropagationResult[],
  idle: [] as IdleResult[],
  coldStart: [] as ColdStartResult[],
  crash: [] as CrashResult[],
  flood: undefined as FloodResult | undefined,
  authCost: { open: [] as number[], keyed: [] as number[] },
};
const started = Date.now();
let step = 0;
const total =
  plan.systems.reduce((n, p) => n + p.sizes.length * ((p.lifecycle ? 3 : 0) + p.losses.length), 0) +
  (plan.flood ? 1 : 0) +
  (quick ? 2 : 3) +
  plan.authPairs.pairs * 2;

function progress(what: string): void {
  step += 1;
  const elapsed = ((Date.now() - started) / 1000).toFixed(0);
  process.stderr.write(`\r\x1b[K[${String(step).padStart(2)}/${total}] ${elapsed.padStart(4)} s  ${what}`);
}

for (const { system, sizes, losses, lifecycle } of plan.systems) {
  for (const n of sizes) {
    if (lifecycle) {
      progress(`${system.name}: idle, ${n} agents`);
      results.idle.push(await idle(system, n, plan.idleSeconds, HEARTBEAT_MS));
      progress(`${system.name}: cold start, ${n} agents`);
      results.coldStart.push(await coldStart(system, n, HEARTBEAT_MS));
      progress(`${system.name}: crash, ${n} agents`);
      results.crash.push(await crash(system, n, HEARTBEAT_MS));
    }
    for (const loss of losses) {
      progress(`${system.name}: ${plan.changes} changes, ${n} agents, ${loss * 100} % loss`);
      results.propagation.push(await propagation(system, n, loss, plan.changes, plan.intervalMs, HEARTBEAT_MS));
    }
  }
}
// A discarded run first: the JIT warms up on it, not on whichever variant happens to go first.
await protocolCpuPerChange(plan.authPairs.agents, 100, false);
for (let pair = 0; pair < plan.authPairs.pairs; pair++) {
  const { agents, changes } = plan.authPairs;
  for (const [keyed, into] of [
    [false, results.authCost.open],
    [true, results.authCost.keyed],
  ] as const) {
    progress(`authentication cost: ${keyed ? 'keyed' : 'open'}, ${agents} agents in memory, pair ${pair + 1}`);
    await fullGc();
    into.push(await protocolCpuPerChange(agents, changes, keyed));
  }
}
if (plan.flood) {
  progress(`herald-keyed: ${plan.flood.junkPerSecond} junk datagrams/s, ${plan.flood.agents} agents`);
  results.flood = await junkFlood(
    (o) => startHerald(o, 'multicast', { keys: parseKeyRing(generateKey()), apiOnFirst: true }),
    plan.flood.agents,
    plan.flood.junkPerSecond,
    plan.flood.seconds,
    HEARTBEAT_MS,
  );
}
const service = await serviceTargets({ quick, outageSeconds: OUTAGE_SECONDS, progress });
process.stderr.write(`\r\x1b[Kdone in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  kernel: release(),
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  heartbeatMs: HEARTBEAT_MS,
};

// ---- tables -----------------------------------------------------------------------------------------

const fmtMs = (v: number) =>
  !Number.isFinite(v) ? 'never' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
const fmt = (v: number, d = 1) => (!Number.isFinite(v) ? '-' : v.toFixed(d));
const ratio = (herald: number, other: number) =>
  !Number.isFinite(herald) || !Number.isFinite(other) || other === 0
    ? '-'
    : (herald / other).toFixed(herald / other < 0.1 ? 3 : 2);

function table(header: string[], rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const heraldProp = (n: number, loss: number) =>
  results.propagation.find((r) => r.system === 'herald' && r.agents === n && r.loss === loss);
const propRows = results.propagation.map((r) => {
  const h = heraldProp(r.agents, r.loss);
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
    r.system === 'herald' || !h
      ? ''
      : `${ratio(h.latencyMs.p99, r.latencyMs.p99)} / ${ratio(h.wireBytesPerChangePerReceiver, r.wireBytesPerChangePerReceiver)}`,
  ];
});
const propTable = table(
  [
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
  ],
  propRows,
);

const allSizes = [...new Set(plan.systems.flatMap((p) => p.sizes))].sort((a, b) => a - b);
const uniqueSystems = [...new Set(plan.systems.map((p) => p.system))];
const idleRows = allSizes.flatMap((n) =>
  uniqueSystems
    .map((s) => {
      const i = results.idle.find((r) => r.system === s.name && r.agents === n);
      const c = results.coldStart.find((r) => r.system === s.name && r.agents === n);
      const k = results.crash.find((r) => r.system === s.name && r.agents === n);
      const hi = results.idle.find((r) => r.system === 'herald' && r.agents === n);
      const hk = results.crash.find((r) => r.system === 'herald' && r.agents === n);
      if (!i || !c || !k) return undefined;
      return [
        s.name,
        String(n),
        fmt(i.bytesPerSecondPerAgent, 0),
        fmt(i.httpRequestsPerSecond, 0),
        fmt(i.cpuPercentOfCore, 1),
        fmtMs(c.convergedMs),
        String(c.maxServed),
        fmtMs(k.lostEverywhereMs),
        s.name === 'herald' || !hi || !hk
          ? ''
          : `${ratio(hi.bytesPerSecondPerAgent, i.bytesPerSecondPerAgent)} / ${ratio(hk.lostEverywhereMs, k.lostEverywhereMs)}`,
      ];
    })
    .filter((r): r is string[] => !!r),
);
const idleTable = table(
  [
    'system',
    'agents',
    'idle bytes/s per agent',
    'idle HTTP req/s (site)',
    'idle CPU % of a core (site)',
    'cold start converged',
    'max requests served by one agent',
    'crash lost everywhere',
    'Herald ÷ it: idle bytes / crash',
  ],
  idleRows,
);

// ---- targets (sync issue) ---------------------------------------------------------------------------

const at50 = (loss: number) => heraldProp(50, loss);
function keyedCpuRatio(): number | undefined {
  const { open, keyed } = results.authCost;
  return open.length && keyed.length ? median(keyed) / median(open) : undefined;
}
const idle50 = results.idle.find((r) => r.system === 'herald' && r.agents === 50);
const cold50 = results.coldStart.find((r) => r.system === 'herald' && r.agents === 50);
const crash50 = results.crash.find((r) => r.system === 'herald' && r.agents === 50);
const targets = [
  {
    target: 'p99 ≤ 20 ms at 0 % loss, 50 agents',
    value: at50(0)?.latencyMs.p99,
    ok: (v: number) => v <= 20,
    show: fmtMs,
  },
  {
    target: 'p99 ≤ 1.5 s at 30 % loss, 50 agents',
    value: at50(0.3)?.latencyMs.p99,
    ok: (v: number) => v <= 1500,
    show: fmtMs,
  },
  {
    target: 'nothing undelivered at 30 % loss, 50 agents',
    value: at50(0.3)?.undelivered,
    ok: (v: number) => v === 0,
    show: String,
  },
  {
    target: 'one datagram per change at 0 % loss',
    value: at50(0)?.datagramsPerChange,
    ok: (v: number) => v <= 1.0001,
    show: (v: number) => fmt(v, 2),
  },
  {
    target: '≤ 150 bytes/s per agent when idle',
    value: idle50?.bytesPerSecondPerAgent,
    ok: (v: number) => v <= 150,
    show: (v: number) => fmt(v, 0),
  },
  {
    target: 'crashed agent lost within 3.5 s',
    value: crash50?.lostEverywhereMs,
    ok: (v: number) => v <= 3500,
    show: fmtMs,
  },
  {
    target: '50 agents started together converge within 3 s',
    value: cold50?.convergedMs,
    ok: (v: number) => v <= 3000,
    show: fmtMs,
  },
  {
    target: 'no agent serves more than 49 catch-up requests at cold start',
    value: cold50?.maxServed,
    ok: (v: number) => v <= 49,
    show: String,
  },
  {
    target: 'mDNS: p99 ≤ 2 s at 0 % loss, 20 agents',
    value: results.propagation.find((r) => r.system === 'herald-mdns' && r.agents === 20 && r.loss === 0)?.latencyMs
      .p99,
    ok: (v: number) => v <= 2000,
    show: fmtMs,
  },
  {
    target: 'mDNS: p99 ≤ 5 s at 30 % loss, 20 agents',
    value: results.propagation.find((r) => r.system === 'herald-mdns' && r.agents === 20 && r.loss === 0.3)?.latencyMs
      .p99,
    ok: (v: number) => v <= 5000,
    show: fmtMs,
  },
  {
    target: `authentication costs ≤ 10 % CPU per change (keyed ÷ open, ${plan.authPairs.agents} agents on the in-memory network, medians of ${plan.authPairs.pairs} alternating pairs)`,
    value: keyedCpuRatio(),
    ok: (v: number) => v <= 1.1,
    show: (v: number) =>
      `${v >= 1 ? '+' : ''}${fmt((v - 1) * 100, 0)} % (${fmt(median(results.authCost.keyed), 2)} ÷ ${fmt(median(results.authCost.open), 2)} ms)`,
  },
  {
    target: 'MQTT: a LAN change is on the broker within 50 ms p99 (through a gateway)',
    value: service.mqtt?.p99Ms,
    ok: (v: number) => v <= 50,
    show: (v: number) => `${fmtMs(v)} (bare broker round trip p99 ${fmtMs(service.mqtt!.baselineP99Ms)})`,
  },
  {
    target: `MQTT: memory flat through a ${OUTAGE_SECONDS} s broker outage with changes going on`,
    value: service.mqtt?.heapGrowthMiB,
    ok: (v: number) => v < 1 && service.mqtt!.ghostsAfter === 0,
    show: (v: number) =>
      `live heap ${v >= 0 ? '+' : ''}${fmt(v, 2)} MiB over ${service.mqtt!.samples} samples, RSS ${service.mqtt!.rssGrowthMiB >= 0 ? '+' : ''}${fmt(service.mqtt!.rssGrowthMiB, 1)} MiB, ${service.mqtt!.ghostsAfter} ghosts after`,
  },
  {
    target: "RSS ≤ 60 MB holding 5,000 devices from 100 agents (settled, the unit's Node flags)",
    value: service.memory?.unit.rssMiB,
    ok: (v: number) => v * 1.048576 <= 60,
    show: (v: number) =>
      `${fmt(v, 1)} MiB = ${fmt(v * 1.048576, 1)} MB (Node's default flags: ${fmt(service.memory!.defaults.rssMiB, 1)} MiB, ratio ${ratio(v, service.memory!.defaults.rssMiB)}; a bare Node process: ${fmt(service.memory!.bareNodeRssMiB, 1)} MiB)`,
  },
  {
    target: 'idle CPU ≤ 1 % of a core (100 peers heartbeating)',
    value: service.memory?.unit.idleCpuPercent,
    ok: (v: number) => v <= 1,
    show: (v: number) =>
      `${fmt(v, 2)} % (Node's default flags: ${fmt(service.memory!.defaults.idleCpuPercent, 2)} %; a bare Node process receiving the same datagrams: ${fmt(service.memory!.floorIdleCpuPercent, 2)} %)`,
  },
  {
    target: 'process start to READY ≤ 500 ms',
    value: service.readyMs?.herald,
    ok: (v: number) => v <= 500,
    show: (v: number) =>
      `${fmtMs(v)} (bare node start: ${fmtMs(service.readyMs!.bareNode)}, ratio ${fmt(v / service.readyMs!.bareNode, 1)})`,
  },
  {
    target: '5,000 junk datagrams/s: stays converged',
    value: results.flood ? (results.flood.convergedAfter && results.flood.undelivered === 0 ? 1 : 0) : undefined,
    ok: (v: number) => v === 1,
    show: (v: number) => (v === 1 ? 'converged, nothing undelivered' : 'not converged'),
  },
  {
    target: '5,000 junk datagrams/s: answers its API',
    value: results.flood ? results.flood.apiMs.p99 : undefined,
    ok: (v: number) => Number.isFinite(v) && (results.flood?.apiFailures ?? 1) === 0 && v < 1000,
    show: (v: number) => `p99 ${fmtMs(v)}, ${results.flood?.apiFailures ?? 0} failures`,
  },
].map((t) => ({
  target: t.target,
  value: t.value === undefined ? 'not measured' : t.show(t.value),
  met: t.value === undefined ? 'not measured' : t.ok(t.value) ? 'met' : 'NOT met',
}));
function footprintTable(m: NonNullable<typeof service.memory>): string {
  const row = (what: string, f: Footprint) => [
    what,
    fmt(f.rssMiB, 1),
    fmt(f.peakRssMiB, 1),
    fmt(f.heapUsedMiB, 1),
    fmt(f.idleCpuPercent, 2),
    fmt(f.syncCpuSeconds, 2),
    fmtMs(f.syncMs),
    String(f.aliveAfter),
  ];
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
        row(m.flags.join(' ') || '(none)', m.unit),
        row('(defaults)', m.defaults),
        ['a bare Node process receiving the same datagrams', '', '', '', fmt(m.floorIdleCpuPercent, 2), '', '', ''],
      ],
    ) +
    `\n\nBoth agents join the site together and take in its ${m.devices} devices; ${m.settleSeconds} s later the site's agents go silent and their last heartbeats are replayed from one socket, once a second each, so that the idle window (${m.idleSeconds} s: RSS sampled each second, its median shown; CPU summed over the window) measures the agents, not the 100 agents of the bench process. The wall time is mostly protocol: a newcomer waits to hear each peer before fetching what it holds.`
  );
}
const targetTable = table(
  ['target', 'measured', ''],
  targets.map((t) => [t.target, t.value, t.met]),
);

const report = `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node.js ${machine.node}, Linux ${machine.kernel}; ${machine.mode} run of ${machine.date}; heartbeat ${HEARTBEAT_MS} ms for every system.

### Propagation of ${plan.changes} changes (one device updated each), all agents in one process on loopback

${propTable}

### Idle, cold start, crash

${idleTable}

${
  results.flood
    ? `### A keyed site of ${results.flood.agents} agents under ${fmt(results.flood.junkPerSecond, 0)} junk datagrams a second

${table(['changes', 'p50', 'p99', 'undelivered', 'API GET /v1/devices p50', 'API p99', 'API failures', 'junk dropped per agent', 'converged after'], [[String(results.flood.changes), fmtMs(results.flood.latencyMs.p50), fmtMs(results.flood.latencyMs.p99), String(results.flood.undelivered), fmtMs(results.flood.apiMs.p50), fmtMs(results.flood.apiMs.p99), String(results.flood.apiFailures), fmt(results.flood.dropped, 0), results.flood.convergedAfter ? 'yes' : 'no']])}
`
    : ''
}
${
  service.memory
    ? `### One agent joining a site of 100 agents holding 5,000 devices, with the unit's Node flags and with Node's defaults

${footprintTable(service.memory)}
`
    : ''
}
${
  service.skipped.length
    ? `Not measured in this run: ${service.skipped.join('; ')}.
`
    : ''
}
### Targets (Herald)

${targetTable}
`;
process.stdout.write('\n' + report + '\n');

await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/latest.json',
  JSON.stringify(
    {
      machine,
      plan: { ...plan, systems: plan.systems.map((p) => ({ ...p, system: p.system.name })) },
      results,
      service,
      targets,
    },
    null,
    2,
  ),
);
const plotN = allSizes.includes(50) ? 50 : allSizes[0];
const plotLosses = [...new Set(plan.systems.flatMap((p) => p.losses))];
const svg = latencyPlot(
  plan.systems
    .filter((p) => p.sizes.includes(plotN))
    .map(({ system: s }) => ({
      name: s.name,
      points: results.propagation
        .filter((r) => r.system === s.name && r.agents === plotN)
        .flatMap((r) =>
          s === httpPolling
            ? plotLosses.map((loss) => ({ loss, p99: r.latencyMs.p99 }))
            : [{ loss: r.loss, p99: r.latencyMs.p99 }],
        ),
    })),
  `p99 latency of a change, ${plotN} agents, heartbeat ${HEARTBEAT_MS} ms`,
);
await writeFile('bench-results/latency.svg', svg);
process.stderr.write('wrote bench-results/latest.json and bench-results/latency.svg\n');

if (writeDocs) {
  const doc = await readFile('docs/benchmarks.md', 'utf8');
  const updated = doc.replace(
    /<!-- results:start -->[\s\S]*<!-- results:end -->/,
    `<!-- results:start -->\n${report}\n![p99 latency against loss](benchmarks-latency.svg)\n<!-- results:end -->`,
  );
  await writeFile('docs/benchmarks.md', updated);
  await writeFile('docs/benchmarks-latency.svg', svg);
  await updateReadme(); // README's paragraph from the section just written: the two never disagree
  process.stderr.write('updated docs/benchmarks.md, docs/benchmarks-latency.svg and README.md\n');
}
