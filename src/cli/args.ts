import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OptionError } from '../config/options.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict, with its errors turned into one clear usage message (exit 64). */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseCommandArgs(command: string, argv: string[], options: Options, allowPositionals = 0): ParsedArgs {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      strict: true,
      allowPositionals: allowPositionals > 0,
    });
    if (parsed.positionals.length > allowPositionals) {
      throw new OptionError(
        `${command}: unexpected argument '${parsed.positionals[allowPositionals]}' (see herald ${command} --help)`,
      );
    }
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    if (err instanceof OptionError) throw err;
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new OptionError(`${command}: ${message} (see herald ${command} --help)`);
  }
}
