import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OwedForgetsFile } from '../src/mqtt/owed-forgets.js';
import { memoryLogger } from '../src/util/logger.js';

/** The state folder's list of forgets owed to an absent broker: what a restarted agent reads back. */
const test = suite('MQTT: owed forgets in the state folder');

async function withDir(run: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-owed-'));
  try {
    await run(join(dir, 'state', 'mqtt-owed-forgets.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the last list saved is the one read back, the folder made if missing', () =>
  withDir(async (file) => {
    const { logger } = memoryLogger();
    const owed = new OwedForgetsFile(file, logger, 256);
    assert.equal(await owed.load(), [], 'no file: nothing owed');
    owed.save(['a1']);
    owed.save(['a1', 'old-host']);
    owed.save(['old-host']);
    await owed.flushed();
    assert.equal(await new OwedForgetsFile(file, logger, 256).load(), ['old-host']);
  }));

test('a damaged file is reported and read as nothing owed, never a crash', () =>
  withDir(async (file) => {
    const { logger, lines } = memoryLogger();
    const owed = new OwedForgetsFile(file, logger, 256);
    owed.save([]);
    await owed.flushed();
    await writeFile(file, '{"forgets": [tru');
    assert.equal(await owed.load(), []);
    assert.ok(
      lines.some((l) => String(l.msg).includes('damaged')),
      'the damage is logged',
    );
  }));

test('only agent names reach MQTT topics, and at most the limit, newest kept', () =>
  withDir(async (file) => {
    const { logger, lines } = memoryLogger();
    const owed = new OwedForgetsFile(file, logger, 2);
    owed.save([]);
    await owed.flushed();
    await writeFile(file, JSON.stringify({ forgets: ['a1', '#', 'x/+', 7, 'B', 'a2', 'a3'] }));
    assert.equal(await owed.load(), ['a2', 'a3']);
    assert.ok(
      lines.some((l) => l.skipped === 4),
      'the four that are not names are counted in the log',
    );
    assert.match(await readFile(file, 'utf8'), /a1/, 'reading does not rewrite the file');
  }));

test.run();
