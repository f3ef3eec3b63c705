import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, OptionError } from '../config/options.js';

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
    const stored = JSON.parse(await readFile(file, 'utf8')) as { incarnation?: unknown };
    if (typeof stored.incarnation === 'number' && Number.isSafeInteger(stored.incarnation)) last = stored.incarnation;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      // The state dir is configuration (--state-dir, StateDirectory=): fix it, a restart will not.
      throw new OptionError(`cannot read ${file}: ${(err as Error).message}`, EXIT.config);
    }
  }
  const incarnation = Math.max(now, last + 1);
  await mkdir(stateDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ incarnation, startedAt: new Date(now).toISOString() }) + '\n', { mode: 0o640 });
  await rename(tmp, file); // atomic: a crash mid-write never leaves a half file
  return incarnation;
}
