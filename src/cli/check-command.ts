import { formatProfileError, loadProfileDir } from '../profiles/load.js';
import { EXIT } from '../config/options.js';

/** Validates every profile in the folder and prints every error at once; exit 0 when all are valid, 1 when not. */
export async function runCheckCommand(dir: string): Promise<number> {
  const set = await loadProfileDir(dir);
  for (const e of set.errors) process.stderr.write(formatProfileError(e) + '\n');
  if (set.errors.length > 0) {
    process.stderr.write(`${set.errors.length} error${set.errors.length === 1 ? '' : 's'} in ${dir}\n`);
    return EXIT.failure;
  }
  process.stdout.write(
    `${dir}: ${set.devices.length} device${set.devices.length === 1 ? '' : 's'} in ${set.files} file${set.files === 1 ? '' : 's'}, all valid\n`,
  );
  return EXIT.ok;
}
