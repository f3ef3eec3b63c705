import { EXIT } from '../config/options.js';
import { formatProfileError, loadProfilePaths } from '../profiles/load.js';

/**
 * Validates profile files and folders and prints every error at once, sorted by file and line; a
 * duplicate id is blamed on the newer file. Exit 0 when all are valid, 1 when not.
 */
export async function runCheckCommand(paths: string[]): Promise<number> {
  const targets = paths.length > 0 ? paths : ['./device-profiles'];
  const set = await loadProfilePaths(targets);
  const where = targets.join(', ');
  for (const e of set.errors) process.stderr.write(formatProfileError(e) + '\n');
  if (set.errors.length > 0) {
    process.stderr.write(`${set.errors.length} error${set.errors.length === 1 ? '' : 's'} in ${where}\n`);
    return EXIT.failure;
  }
  const devices = `${set.devices.length} device${set.devices.length === 1 ? '' : 's'}`;
  process.stdout.write(`${where}: ${devices} in ${set.files} file${set.files === 1 ? '' : 's'}, all valid\n`);
  return EXIT.ok;
}
