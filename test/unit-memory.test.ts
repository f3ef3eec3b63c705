import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { unitNodeFlags } from './helpers/process.js';

const test = suite("the unit's Node flags give memory back after a burst");

/**
 * A join in miniature: 200,000 small objects taken in, a tenth kept (the directory), the rest garbage;
 * then the process goes on allocating a little every 10 ms, as an agent among live peers does. It
 * prints V8's committed heap (heapTotal) each 250 ms.
 */
const BURST = `
let taken = [];
for (let i = 0; i < 200000; i++) taken.push({ id: 'dev-' + i, name: 'device ' + i, tags: ['a', 'k' + i], n: i });
const kept = taken.filter((_, i) => i % 10 === 0);
taken = undefined;
let sink;
setInterval(() => { const j = []; for (let i = 0; i < 300; i++) j.push({ i, s: 'x' + i }); sink = j; }, 10);
setInterval(() => process.stdout.write(JSON.stringify({ heapTotal: process.memoryUsage().heapTotal, kept: kept.length }) + '\\n'), 250);
`;

/**
 * Without --optimize-for-size V8 sized the old generation for the burst and, as allocation never
 * stops, its memory reducer kept putting off the collection: an agent that had taken in 5,000 devices
 * sat 11-13 MiB above its settled RSS for 19-25 s (docs/benchmarks.md, "RSS at 5,000 devices: where it goes,
 * and the join's plateau").
 */
test('committed heap back under 20 MiB within 20 s of a 50 MiB burst, allocation going on', async () => {
  const flags = unitNodeFlags(readFileSync('systemd/herald.service', 'utf8'));
  const child = spawn(process.execPath, [...flags, '-e', BURST], { stdio: ['ignore', 'pipe', 'ignore'] });
  const t0 = Date.now();
  let peak = 0;
  let last = Infinity;
  try {
    await new Promise<void>((resolve, reject) => {
      let rest = '';
      const deadline = setTimeout(() => reject(new Error('deadline')), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        rest += chunk.toString('utf8');
        const lines = rest.split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          last = (JSON.parse(line) as { heapTotal: number }).heapTotal / 2 ** 20;
          peak = Math.max(peak, last);
          if (peak > 40 && last < 20) {
            clearTimeout(deadline);
            resolve();
          }
        }
      });
    }).catch(() => undefined);
    assert.ok(peak > 40, `the burst took the heap above 40 MiB (${peak.toFixed(1)})`);
    assert.ok(
      last < 20,
      `heap ${last.toFixed(1)} MiB ${((Date.now() - t0) / 1000).toFixed(1)} s after start (flags: ${flags.join(' ')})`,
    );
  } finally {
    child.kill('SIGKILL');
  }
});

test.run();
