import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OwedForgetsFile } from '../../src/mqtt/owed-forgets.js';
import { memoryLogger } from '../../src/util/logger.js';
import { hasCommand } from '../helpers/requirements.js';

/**
 * attack22, surface 5: the state folder's owed forgets (owed-forgets.ts) read back by a starting bridge, which waits
 * for them before it connects (bridge.ts `restore`). The agent writes at most 256 names (~17 kB); a damaged file is
 * "reported and read as empty". Before: a FIFO at its path (a damaged or tampered state folder) held load() for good,
 * the bridge's start with it; a 20.9 MB list of 2 million names was read whole and parsed to keep its last 256: +202
 * MiB of RSS and 19 s (nice 10, load 7).
 */
const test = suite('attack: a damaged owed-forgets file (a FIFO, a huge list)');

async function withDir(run: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-owed-attack-'));
  try {
    await mkdir(join(dir, 'state'));
    await run(join(dir, 'state', 'mqtt-owed-forgets.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** load(), or 'pending' if it has not settled within `ms`. */
function within(load: Promise<string[]>, ms: number): Promise<string[] | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  return Promise.race([load, late]).finally(() => clearTimeout(timer));
}

test('a FIFO at the path is reported and read as nothing owed, at once', async () => {
  if (!hasCommand('mkfifo')) return console.log('  skipped: no mkfifo');
  await withDir(async (file) => {
    execFileSync('mkfifo', [file]);
    const { logger, lines } = memoryLogger();
    const read = await within(new OwedForgetsFile(file, logger, 256).load(), 1_000);
    if (read === 'pending') {
      // Unblock the pending read (a writer that closes at once), so the test process can end.
      await writeFile(file, '');
    }
    assert.equal(read, [], 'load settles with nothing owed');
    assert.ok(
      lines.some((l) => String(l.msg).includes('owed MQTT forgets')),
      'the file is reported',
    );
  });
});

test('a list far past what the agent writes is reported and not read', async () => {
  await withDir(async (file) => {
    const names = Array.from({ length: 200_000 }, (_, i) => `host-${i}`);
    await writeFile(file, JSON.stringify({ forgets: names }));
    const { logger, lines } = memoryLogger();
    assert.equal(await new OwedForgetsFile(file, logger, 256).load(), []);
    assert.ok(
      lines.some((l) => String(l.msg).includes('owed MQTT forgets')),
      'the file is reported',
    );
  });
});

test('a list of the most the agent writes is still read whole', async () => {
  await withDir(async (file) => {
    const names = Array.from({ length: 256 }, (_, i) => `a-${'x'.repeat(57)}-${String(i).padStart(3, '0')}`);
    const owed = new OwedForgetsFile(file, memoryLogger().logger, 256);
    owed.save(names);
    await owed.flushed();
    assert.equal(await new OwedForgetsFile(file, memoryLogger().logger, 256).load(), names);
  });
});

test.run();
