import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nextIncarnation } from '../../src/agent/identity.js';
import { EXIT, OptionError } from '../../src/config/options.js';

/**
 * s23 attackb, a state folder the agent cannot write (mounted read-only, a full disk). identity.json is written
 * before the agent speaks; its read failing was the configuration's exit (78, one line naming the file), but its
 * write failing went out as a fault of Herald: `herald: Error: EROFS: read-only file system, open
 * '.../identity.json.28876.tmp'` with its stack, exit 70 (a read-only bind mount, a network namespace; ENOSPC the
 * same). A folder at the temporary path stands in for the unwritable folder here (root writes through modes).
 */
const test = suite('attack: a state folder the agent cannot write');

test('an identity that cannot be written fails the start with one line naming identity.json', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-unwritable-'));
  try {
    await mkdir(join(dir, `identity.json.${process.pid}.tmp`));
    const err = await nextIncarnation(dir, 5_000).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err, 'the start went on without its identity on disk');
    assert.instance(err, OptionError, `${err.name}: ${err.message}`);
    assert.match(err.message, /cannot write .*identity\.json/);
    assert.is(err instanceof OptionError ? err.exitCode : undefined, EXIT.config);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
