import { join } from 'node:path';
import { EXIT, OptionError } from '../config/options.js';
import { readStateFile, replaceStateFile } from '../util/state-file.js';

/** The agent writes ~70 bytes; a larger file is damage, not read (a FIFO at the path held the start: s23). */
const FILE_BYTES = 4096;

/**
 * The incarnation grows on every start, so peers tell a restarted agent from a late packet of its
 * previous life. It is the wall clock in milliseconds, raised above the last one stored in the state
 * dir so that a clock stepped backwards cannot make a new life look older than the last one.
 */
export async function nextIncarnation(stateDir: string | undefined, now: number): Promise<number> {
  if (!stateDir) return now;
  const file = join(stateDir, 'identity.json');
  let last = 0;
  try {
    const stored = JSON.parse(await readStateFile(file, FILE_BYTES)) as { incarnation?: unknown };
    if (typeof stored.incarnation === 'number' && Number.isSafeInteger(stored.incarnation)) last = stored.incarnation;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      // The state dir is configuration (--state-dir, StateDirectory=): fix it, a restart will not.
      throw new OptionError(`cannot read ${file}: ${(err as Error).message}`, EXIT.config);
    }
  }
  const incarnation = Math.max(now, last + 1);
  // Whole and on disk before the agent speaks: a power cut must not bring back an older incarnation than it used.
  const body = JSON.stringify({ incarnation, startedAt: new Date(now).toISOString() }) + '\n';
  try {
    await replaceStateFile(file, body, 0o640);
  } catch (err) {
    // Unwritable, as unreadable above, is the state folder's configuration (a read-only mount), not a fault of
    // Herald's (exit 70 and a stack: attacks/state-folder-unwritable). A full disk may clear: a restart may help.
    const code = (err as NodeJS.ErrnoException).code;
    const exit = code === 'ENOSPC' || code === 'EDQUOT' ? EXIT.unavailable : EXIT.config;
    throw new OptionError(`cannot write ${file}: ${(err as Error).message}`, exit);
  }
  return incarnation;
}
