import type { Command } from 'commander';
import { isBooleanWord, parseBoolean } from '../config/options.js';

/**
 * Commander takes a boolean flag bare (`--json`) or negated (`--no-json`); people also write
 * `--json=true` and `--mdns-devices=TRUE`, as YAML and the environment allow. Those are turned into the
 * bare or negated form here, with the same vocabulary as the config file, before commander parses.
 * The older spelling `--mdns-devices true` (a separate word) is still taken when that word is a boolean
 * word: units and scripts written for earlier versions keep working, and no command has both booleans
 * and positional arguments, so nothing else can be meant.
 */
export function normalizeBooleanFlags(program: Command, argv: readonly string[]): string[] {
  const command = program.commands.find((c) => c.name() === argv[0]);
  if (!command) return [...argv];
  const booleans = new Set(command.options.filter((o) => o.isBoolean() && !o.negate).map((o) => o.long));
  const negated = new Set(command.options.filter((o) => o.negate).map((o) => o.long));
  // A flag without a --no- form (--print-config) is off when absent: false leaves it out.
  const set = (flag: string, on: boolean): string[] =>
    on ? [flag] : negated.has(`--no-${flag.slice(2)}`) ? [`--no-${flag.slice(2)}`] : [];
  const out = [argv[0]];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^(--[^=]+)=(.*)$/s.exec(arg);
    const next = argv[i + 1] as string | undefined;
    if (m && booleans.has(m[1])) out.push(...set(m[1], parseBoolean(m[2], m[1])));
    else if (booleans.has(arg) && next !== undefined && isBooleanWord(next)) {
      out.push(...set(arg, parseBoolean(next, arg)));
      i++;
    } else out.push(arg);
  }
  return out;
}
