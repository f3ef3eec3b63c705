import type { IdleBreakdown, ScaleResult } from './scale.js';

/** The file the bench and the docs read the simulator's scale figures from. */
export const SIM_SCALE_JSON = 'bench/results/sim-scale.json';

export interface ScaleReport {
  /** When and on what it ran, so the figures can be told apart from a later run's. */
  ran: { at: string; commit: string; node: string; cpus: number; cpu: string };
  results: ScaleResult[];
}

interface Row {
  label: string;
  /** The phase that makes the figure: "not run" when a short run skipped it. */
  phase?: string;
  /** Issue 18's goal at 1,000 agents, as text. */
  goal: string;
  value: (r: ScaleResult) => string;
}

const num = (x: number | null, digits = 0): string =>
  x === null ? 'never' : x.toLocaleString('en-US', { maximumFractionDigits: digits });
const ms = (x: number | null): string => (x === null ? 'never' : `${num(x)} ms`);

const ROWS: Row[] = [
  {
    label: 'site-wide idle multicast',
    goal: '≤ 2 kB/s',
    value: (r) => `${num(r.idle.siteMulticastBytesPerSecond)} B/s (${num(r.idle.siteMulticastPerSecond, 1)}/s)`,
  },
  {
    label: 'per agent idle sent, mean / max',
    goal: '≤ 300 B/s',
    value: (r) => bytesPair(r.idle.agentSentBytesPerSecond),
  },
  {
    label: 'per agent idle received, mean / max',
    goal: '≤ 300 B/s',
    value: (r) => bytesPair(r.idle.agentReceivedBytesPerSecond),
  },
  {
    label: 'per agent idle received without multicast',
    goal: '',
    value: (r) =>
      r.idle.agentUnicastReceivedBytesPerSecond ? bytesPair(r.idle.agentUnicastReceivedBytesPerSecond) : '—',
  },
  {
    label: 'per agent idle received on the wire, mean / max',
    goal: '≤ 300 B/s',
    value: (r) => (r.idle.agentWireReceivedBytesPerSecond ? bytesPair(r.idle.agentWireReceivedBytesPerSecond) : '—'),
  },
  {
    label: 'mean agent idle received on the wire, by kind',
    goal: '',
    value: (r) => (r.idle.agentReceivedByKind ? byKind(r.idle.agentReceivedByKind) : '—'),
  },
  {
    label: 'busiest agent idle sent, by kind',
    goal: '',
    value: (r) => (r.idle.busiest ? kinds(r.idle.busiest.sent) : '—'),
  },
  {
    label: 'busiest agent idle received, by kind',
    goal: '',
    value: (r) => (r.idle.busiest ? kinds(r.idle.busiest.received) : '—'),
  },
  { label: 'crash seen lost by all, p99', phase: 'crash', goal: '≤ 3.5 s', value: (r) => detection(r.crash) },
  { label: 'vanished host seen lost by all, p99', phase: 'vanish', goal: '≤ 6 s', value: (r) => detection(r.vanish) },
  {
    label: 'live agents falsely lost at 30 % loss',
    phase: '30 % loss',
    goal: '0',
    value: (r) => `${r.falseLosses.count} in ${num(r.falseLosses.seconds)} s`,
  },
  { label: 'change to all, p99 at 0 % loss', goal: '≤ 20 ms', value: (r) => delivery(r.change.clean) },
  {
    label: 'change to all, p99 at 30 % loss',
    phase: '30 % loss',
    goal: '≤ 1.5 s',
    value: (r) => delivery(r.change.lossy),
  },
  {
    label: 'datagrams (and peer requests) per change at 0 %',
    goal: '1',
    value: (r) => `${num(r.change.clean.datagramsPerChange, 1)} (${num(r.change.clean.requestsPerChange, 1)})`,
  },
  {
    label: 'cold start of all (started over 1 s), to complete',
    goal: '≤ 10 s',
    value: (r) => (r.coldStart.ms === null ? `${r.coldStart.incomplete} incomplete after 60 s` : ms(r.coldStart.ms)),
  },
  { label: 'max catch-ups served by one agent', goal: '≤ 1,000', value: (r) => num(r.coldStart.maxCatchupsServed) },
  { label: 'newcomer complete', phase: 'newcomer', goal: '≤ 2 s', value: (r) => ms(r.newcomer.ms) },
  { label: 'simulator heap per agent', goal: '(RSS: bench)', value: (r) => `${num(r.heapBytesPerAgent / 1e6, 2)} MB` },
  {
    label: 'simulated windows: idle (after a settle) / 30 % loss',
    goal: '',
    value: (r) =>
      `${r.windows.idleSeconds} s${r.windows.settleSeconds === undefined ? '' : ` (${r.windows.settleSeconds} s)`} / ` +
      `${num(r.windows.lossSeconds)} s`,
  },
  { label: 'wall time of the run', goal: '', value: (r) => `${num(r.wallSeconds)} s` },
  {
    label: 'CPU time of the run',
    goal: '',
    value: (r) => (r.cpuSeconds === undefined ? '—' : `${num(r.cpuSeconds)} s`),
  },
  { label: 'commit measured', goal: '', value: (r) => r.commit ?? '—' },
];

function bytesPair(x: { mean: number; max: number }): string {
  return `${num(x.mean)} / ${num(x.max)} B/s`;
}

/** "agent-5: mc 12, uc 40, summary 3 B/s": the kinds that are not zero, and who asked for summaries. */
function kinds(b: IdleBreakdown): string {
  const parts = Object.entries(b.bytesPerSecond).filter(([, v]) => v >= 0.5);
  const top = b.summaryAskers.slice(0, 3).map((a) => `${a.agent} ×${a.count}`);
  const askers = top.length > 0 ? `; summaries asked by ${top.join(', ')}` : '';
  return `${b.agent}: ${parts.map(([k, v]) => `${SHORT[k] ?? k} ${num(v)}`).join(', ') || 'none'} B/s${askers}`;
}

/** "multicast heartbeat 140, unicast heartbeat 110 B/s": the largest first. */
function byKind(k: Record<string, number>): string {
  const parts = Object.entries(k).sort((a, b) => b[1] - a[1]);
  return `${parts.map(([kind, v]) => `${kind} ${num(v)}`).join(', ') || 'none'} B/s`;
}

const SHORT: Record<string, string> = { multicast: 'mc', unicast: 'uc' };

function detection(d: ScaleResult['crash']): string {
  return `${ms(d.p99Ms)}${d.missed > 0 ? `, ${d.missed} never` : ''}`;
}

function delivery(d: ScaleResult['change']['lossy']): string {
  return `${ms(d.p99Ms)}${d.undelivered > 0 ? `, ${d.undelivered} undelivered` : ''}`;
}

function cell(row: Row, r: ScaleResult): string {
  if (row.phase && r.aborted?.startsWith(`${row.phase}:`)) return 'stopped: storm of > 100,000 datagrams at once';
  return row.phase && r.skipped.includes(row.phase) ? 'not run' : row.value(r);
}

function heading(r: ScaleResult): string {
  return `${num(r.size)} ${r.protocol === 'baseline' ? 'today' : 'default'}`;
}

/** A table: one row per figure, one column per (size, protocol), with the goal at 1,000 agents. */
export function markdownTable(results: ScaleResult[]): string {
  const head = ['figure', 'goal at 1,000', ...results.map(heading)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of ROWS) lines.push(`| ${[row.label, row.goal, ...results.map((r) => cell(row, r))].join(' | ')} |`);
  return lines.join('\n');
}

/** The same table as plain aligned text, for the terminal. */
export function textTable(results: ScaleResult[]): string {
  const cells = [
    ['figure', 'goal at 1,000', ...results.map(heading)],
    ...ROWS.map((row) => [row.label, row.goal, ...results.map((r) => cell(row, r))]),
  ];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c) => c.map((x, i) => x.padEnd(widths[i])).join('  ')).join('\n');
}

/** How the figures are counted, said once under every table. */
export const COUNTING_NOTE =
  'Bytes are payloads (UDP/IP and HTTP/TCP headers not counted) except "on the wire", which adds 28 a ' +
  'datagram and 104 a peer exchange as the bench counts. The LAN is a shared medium: one multicast is ' +
  'one transmission, counted once site-wide; "received" counts every copy handed to an agent\'s socket (what ' +
  'its host wakes for) plus the peer answers it was sent; "sent" counts its datagrams plus the peer answers ' +
  'it served. Crash: the process is gone, its host up, so its peer port refuses. Vanished: the host is cut ' +
  'off both ways, requests hang until their deadline. Changes are made one at a time at random agents; ' +
  'falsely lost counts every `lost` a live agent reported about a live agent during the 30 % loss window.';
