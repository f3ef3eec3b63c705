import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { lstat, open, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nextIncarnation } from '../../src/agent/identity.js';
import { replaceStateFile } from '../../src/util/state-file.js';
import { hasCommand } from '../helpers/requirements.js';
import { withStateDir, within } from '../helpers/state-dir.js';

/**
 * s23 attackb, the temporary path of replaceStateFile (`FILE.PID.tmp`: the pid is 1 or a small number in a container
 * or a unit with PIDNamespace, so the path is known ahead). It was opened with 'w', which follows a symlink, waits on
 * a FIFO for a reader, and keeps an existing file's mode. So something left at that path (a damaged or tampered state
 * folder, the same threat as thaw23's FIFO at identity.json) held the agent's start for good (a FIFO: the identity is
 * written before the agent speaks), truncated and wrote over the file a symlink named, or handed registrations.json
 * (0600: the documents as registered) the mode of a file left there (0644, readable by all).
 */
const test = suite('attack: what lies at a state file temporary path');

test('a FIFO at the temporary path does not hold the start: the identity is written, or the start fails', async () => {
  if (!hasCommand('mkfifo')) return console.log('  skipped: no mkfifo');
  await withStateDir('herald-temp-attack-', async (state) => {
    const tmp = join(state, `identity.json.${process.pid}.tmp`);
    execFileSync('mkfifo', [tmp]);
    const started = await within(nextIncarnation(state, 5_000), 1_000);
    // Unblock a writer's open held on the FIFO (a reader that closes at once), so the test process can end.
    if (started === 'pending') await (await open(tmp, constants.O_RDONLY | constants.O_NONBLOCK)).close();
    assert.is.not(started, 'pending', 'the start waited on a FIFO at identity.json.PID.tmp');
  });
});

test('a symlink at the temporary path: the file it names is not written, the state file is a file', async () => {
  await withStateDir('herald-temp-attack-', async (state, dir) => {
    const elsewhere = join(dir, 'not-herald.conf');
    await writeFile(elsewhere, 'some other program\n');
    await symlink(elsewhere, join(state, `registrations.json.${process.pid}.tmp`));
    await within(replaceStateFile(join(state, 'registrations.json'), '{"format":1}\n', 0o600), 1_000);
    assert.is(await readFile(elsewhere, 'utf8'), 'some other program\n', 'the symlink target was overwritten');
    assert.ok((await lstat(join(state, 'registrations.json'))).isFile(), 'registrations.json is a symlink now');
  });
});

test('a file left at the temporary path does not give registrations.json its mode', async () => {
  await withStateDir('herald-temp-attack-', async (state) => {
    const left = join(state, `registrations.json.${process.pid}.tmp`);
    await writeFile(left, 'left here\n', { mode: 0o644 });
    await replaceStateFile(join(state, 'registrations.json'), '{"format":1}\n', 0o600);
    const mode = (await stat(join(state, 'registrations.json'))).mode & 0o777;
    assert.is(mode.toString(8), '600', 'registrations.json readable by others');
    assert.equal(await readdir(state), ['registrations.json'], 'a temporary file left behind');
  });
});

test.run();
