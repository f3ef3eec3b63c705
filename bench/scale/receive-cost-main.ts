import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { receiveCost, type ReceiveCost } from './receive-cost.js';

/**
 * `node dist/bench/scale/receive-cost-main.js [agents] [changes] [runs] [--against <other build's
 * dist/bench/scale/receive-cost.js>] [--keyed | --key-cost | --harness-cost]`: the per-copy CPU of a change on the receive path (receive-cost.ts). On a
 * shared machine one figure alone says little (the same code read 38 and 54 µs a copy at load 2 and 11), so each
 * run is given as a ratio: to a fixed reference job (no Herald code) timed just before and after it, and, with
 * --against, to another build's receive path run in the same process, alternately first and second. Run it
 * under `nice -n 10`; `--cpu-prof` profiles it. `--keyed` runs every site with a cluster key; `--key-cost` runs
 * this build keyed against itself open ("against"), which gives what the key adds to a copy as a ratio;
 * `--harness-cost` runs it with the scale step's per-child bookkeeping on every directory event (held-report.ts)
 * against without: what the harness adds to the copies it times.
 */

/** µs of CPU for the reference job: SHA-256 over 4 KiB, 2,000 times; the least of three (the least disturbed). */
function referenceUs(): number {
  const block = Buffer.alloc(4096, 7);
  let least = Infinity;
  for (let k = 0; k < 3; k++) {
    const cpu0 = process.cpuUsage();
    for (let n = 0; n < 2000; n++) createHash('sha256').update(block).digest();
    const cpu = process.cpuUsage(cpu0);
    least = Math.min(least, cpu.user + cpu.system);
  }
  return least;
}

type Cost = (agents: number, changes: number, keyed?: boolean) => Promise<ReceiveCost>;

const args = process.argv.slice(2);
const at = args.indexOf('--against');
const againstPath = at >= 0 ? args.splice(at, 2)[1] : undefined;
// --keyed: every run with a cluster key; --key-cost: this build keyed against this build open (what the key costs).
const flag = (name: string) => args.includes(name) && args.splice(args.indexOf(name), 1).length > 0;
const keyed = flag('--keyed');
const keyCost = flag('--key-cost');
const harnessCost = flag('--harness-cost');
const [agents = 50, changes = 200, runs = 3] = args.map(Number);
const other: Cost | undefined = againstPath
  ? ((await import(pathToFileURL(resolve(againstPath)).href)) as { receiveCost: Cost }).receiveCost
  : undefined;
const mine: Cost = (a, c) => receiveCost(a, c, keyed || keyCost, { harness: harnessCost });
const against: Cost | undefined = keyCost
  ? (a, c) => receiveCost(a, c, false)
  : harnessCost
    ? (a, c) => receiveCost(a, c, keyed)
    : other && ((a, c) => other(a, c, keyed));

const brief = (c: ReceiveCost, ref: number) => ({
  perCopyCpuUs: +c.perCopyCpuUs.toFixed(1),
  hintsCpuUs: +c.hintsCpuUs.toFixed(1),
  perCopyUs: +c.perCopyUs.toFixed(1),
  toHeldUs: +c.toHeldUs.toFixed(1),
  ...(c.reportUs !== undefined && { reportUs: +c.reportUs.toFixed(1) }),
  decodeUs: +c.decodeUs.toFixed(1),
  perMilleOfReference: +((c.perCopyCpuUs / ref) * 1000).toFixed(2),
});

referenceUs(); // warm-up
for (let r = 0; r < runs; r++) {
  const before = referenceUs();
  // Alternately first and second: the later of two runs in one process meets a warmer (or fuller) heap.
  const order: ['this' | 'against', Cost][] = [['this', mine]];
  if (against) order[r % 2 === 0 ? 'push' : 'unshift'](['against', against]);
  const got: Partial<Record<'this' | 'against', ReceiveCost>> = {};
  for (const [name, cost] of order) got[name] = await cost(agents, changes);
  const ref = (before + referenceUs()) / 2;
  const got1 = got.this!;
  const line: Record<string, unknown> = { agents, changes, copies: got1.copies, referenceUs: Math.round(ref) };
  line.this = brief(got1, ref);
  if (got.against) {
    line.against = brief(got.against, ref);
    line.thisOverAgainst = +(got1.perCopyCpuUs / got.against.perCopyCpuUs).toFixed(3);
  }
  console.log(JSON.stringify(line));
}
