import { formatProfileError, loadProfileDir } from '../profiles/load.js';
import { parseCommandArgs } from './args.js';

const HELP = `Usage: herald check [DIR]

Validates every device profile in DIR (default ./device-profiles) and prints every error at once,
with file, line and field. Exit 0 when all are valid, 1 when not.`;

export async function runCheckCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('check', argv, {}, 1);
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const dir = positionals[0] ?? './device-profiles';
  const set = await loadProfileDir(dir);
  for (const e of set.errors) process.stderr.write(formatProfileError(e) + '\n');
  if (set.errors.length > 0) {
    process.stderr.write(`${set.errors.length} error${set.errors.length === 1 ? '' : 's'} in ${dir}\n`);
    return 1;
  }
  process.stdout.write(
    `${dir}: ${set.devices.length} device${set.devices.length === 1 ? '' : 's'} in ${set.files} file${set.files === 1 ? '' : 's'}, all valid\n`,
  );
  return 0;
}
