import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nextIncarnation } from '../../src/agent/identity.js';
import { OwedForgetsFile } from '../../src/mqtt/owed-forgets.js';
import { FileRegistrationStore } from '../../src/registration/store.js';
import { memoryLogger } from '../../src/util/logger.js';
import { syncedDuring } from '../helpers/fsyncs.js';
import { hasCommand } from '../helpers/requirements.js';
import { withStateDir, within } from '../helpers/state-dir.js';

/**
 * s23, the attackers' leftovers on the state folder. Before: `identity.json` was read with readFile, so a FIFO at
 * its path (a damaged or tampered state folder) held the agent's start for good, as the owed-forgets file's read did
 * before attack22; the owed forgets and the identity were written to a temporary file and renamed with no fsync, so
 * a power cut after the rename could leave the file empty or torn (the rename reaches the disk before the data on
 * ext4's delalloc) or the rename itself undone.
 */
const test = suite('attack: the state folder (a FIFO at identity.json, writes without fsync)');

test('a FIFO at identity.json fails the start at once, naming the file', async () => {
  if (!hasCommand('mkfifo')) return console.log('  skipped: no mkfifo');
  await withStateDir('herald-state-attack-', async (dir) => {
    const file = join(dir, 'identity.json');
    execFileSync('mkfifo', [file]);
    const read = await within(nextIncarnation(dir, 5_000), 1_000);
    // Unblock a pending read (a writer that closes at once), so the test process can end.
    if (read === 'pending') await writeFile(file, '');
    assert.ok(typeof read === 'object' && /identity\.json.*not a regular file/.test(read.error), JSON.stringify(read));
  });
});

test('a FIFO at registrations.json is reported at once, nothing restored', async () => {
  if (!hasCommand('mkfifo')) return console.log('  skipped: no mkfifo');
  await withStateDir('herald-state-attack-', async (dir) => {
    const file = join(dir, 'registrations.json');
    execFileSync('mkfifo', [file]);
    const read = await within(new FileRegistrationStore(dir).load(), 1_000);
    if (read === 'pending') await writeFile(file, '');
    assert.ok(typeof read === 'object' && 'registrations' in read, JSON.stringify(read));
    assert.equal(read.registrations, []);
    assert.match(read.errors.join(' '), /registrations\.json.*not a regular file/);
  });
});

test('an identity.json far past what the agent writes fails the start, not read', async () => {
  await withStateDir('herald-state-attack-', async (dir) => {
    await writeFile(join(dir, 'identity.json'), JSON.stringify({ incarnation: 7, pad: 'x'.repeat(1 << 20) }));
    const read = await within(nextIncarnation(dir, 5_000), 1_000);
    assert.ok(typeof read === 'object' && /identity\.json.*bytes/.test(read.error), JSON.stringify(read));
  });
});

test('the identity is on disk before the rename, and the rename before the start goes on', async () => {
  await withStateDir('herald-state-attack-', async (dir) => {
    let incarnation = 0;
    const synced = await syncedDuring(async () => void (incarnation = await nextIncarnation(dir, 5_000)));
    assert.is(synced.length, 2, JSON.stringify(synced));
    assert.match(synced[0], /identity\.json\.\d+\.tmp$/, 'the temporary file, before its rename');
    assert.is(synced[1], dir, 'then the state folder, which holds the rename');
    const stored = JSON.parse(await readFile(join(dir, 'identity.json'), 'utf8')) as { incarnation: number };
    assert.is(stored.incarnation, incarnation);
  });
});

test('the owed forgets are on disk before the rename, and the rename after it', async () => {
  await withStateDir('herald-state-attack-', async (dir) => {
    const file = join(dir, 'mqtt-owed-forgets.json');
    const owed = new OwedForgetsFile(file, memoryLogger().logger, 256);
    const synced = await syncedDuring(async () => {
      owed.save(['gone-1', 'gone-2']);
      await owed.flushed();
    });
    assert.is(synced.length, 2, JSON.stringify(synced));
    assert.match(synced[0], /mqtt-owed-forgets\.json\.\d+\.tmp$/, 'the temporary file, before its rename');
    assert.is(synced[1], dir, 'then the state folder, which holds the rename');
    assert.equal(await new OwedForgetsFile(file, memoryLogger().logger, 256).load(), ['gone-1', 'gone-2']);
  });
});

test.run();
