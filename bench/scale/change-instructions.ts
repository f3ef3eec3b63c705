import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryChange, memorySite, startMemorySite } from '../protocol-cpu.js';

/**
 * `node dist/bench/scale/change-instructions.js [agents] [changes] [--keyed]`: the instructions a change of the
 * authentication step's site costs (protocol-cpu.ts: agents on the in-memory network, fake clock, heartbeats
 * off; the origin's reload, sealing, every receiver's opening, decoding and applying, the hints), counted by
 * valgrind's callgrind over the changes alone: counters zeroed after a warm-up of the same changes, dumped after.
 * CPU time on this shared machine moves ±5 points between two runs of the same code; the open site's count moved
 * 0.03 % (cpu18), so it says what a cut changes. Keyed, one build repeated as closely and another read 13.4 and
 * 12.2 M a change (each run draws its key at random): repeat a keyed count before believing it. Not what a change
 * costs in time (a cache miss is free in it), and valgrind runs it ~50 times slower: run it under nice.
 */

const args = process.argv.slice(2);
const keyed = args.includes('--keyed');
const child = args.indexOf('--child');
const [agents = 50, changes = 100] = args.filter((a) => !a.startsWith('--') && !a.startsWith('/')).map(Number);

/** Waits for a file the parent makes once callgrind took its command (the child polls: it must keep running). */
async function waitFor(path: string): Promise<void> {
  while (!existsSync(path)) await new Promise((r) => setTimeout(r, 20));
}

async function runChild(dir: string): Promise<void> {
  const site = memorySite(keyed);
  const nodes = await startMemorySite(site, agents);
  for (let k = 0; k < changes; k++) await memoryChange(site, nodes, k); // warm-up: the JIT, the heap's size
  console.log('warm');
  await waitFor(join(dir, 'go'));
  for (let k = 0; k < changes; k++) await memoryChange(site, nodes, changes + k);
  console.log('done');
  await waitFor(join(dir, 'end'));
  for (const n of nodes) await n.agent.stop({ goodbye: false });
}

/** The instructions (Ir) of the dump asked for at the end of the changes (cg.out.1; cg.out is the exit's). */
function dumpedInstructions(dir: string): number {
  const dump = readdirSync(dir).find((f) => /^cg\.out\.\d+$/.test(f));
  const m = dump && /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function runParent(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cg-'));
  const self = fileURLToPath(import.meta.url);
  const cg = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file', // the JIT's code is written and rewritten in memory
      `--callgrind-out-file=${join(dir, 'cg.out')}`,
      process.execPath,
      // One thread, a fixed hash seed: without it the count followed when the JIT's background compiles landed (the
      // open site read 14.3 M instructions a change, the keyed one 12.8 M: fewer).
      '--predictable',
      self,
      String(agents),
      String(changes),
      ...(keyed ? ['--keyed'] : []),
      '--child',
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const control = (flag: string) => execFileSync('callgrind_control', [flag, String(cg.pid)], { stdio: 'ignore' });
  let out = '';
  cg.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('warm') && !existsSync(join(dir, 'go'))) {
      control('-z');
      writeFileSync(join(dir, 'go'), '');
    }
    if (out.includes('done') && !existsSync(join(dir, 'end'))) {
      control('-d');
      writeFileSync(join(dir, 'end'), '');
    }
  });
  await new Promise((r) => cg.on('exit', r));
  const instructions = dumpedInstructions(dir);
  // HERALD_CALLGRIND_KEEP=<dir>: the dumps kept there, for callgrind_annotate (native code by function; the
  // JIT's is one unnamed mass).
  const keep = process.env.HERALD_CALLGRIND_KEEP;
  if (keep) cpSync(dir, keep, { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  const perChange = instructions / changes;
  console.log(JSON.stringify({ agents, changes, keyed, instructions, perChange: Math.round(perChange) }));
}

if (child >= 0) await runChild(args[child + 1]);
else await runParent();
