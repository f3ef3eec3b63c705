#!/usr/bin/env node
import { CommanderError } from 'commander';
import { EXIT, OptionError } from '../config/options.js';
import { normalizeBooleanFlags } from './boolean-flags.js';
import { errorText } from '../util/journald.js';
import { CliError } from './cli-error.js';
import { buildProgram, type Outcome } from './program.js';

/** Commander's own outcomes: help and --version asked for are success; everything else is usage. */
function commanderExitCode(err: CommanderError): number {
  return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
}

async function main(argv: string[]): Promise<number> {
  // `herald ls | head`: the reader has gone, so nothing more can be shown; that is not a failure. The
  // agent is left out: its stdout is its log, and losing journald is worth a restart.
  if (argv[0] !== 'agent') {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(EXIT.ok);
    });
  }
  const outcome: Outcome = { code: EXIT.ok };
  const program = buildProgram(outcome).exitOverride();
  program.commands.forEach((c) => c.exitOverride());
  try {
    await program.parseAsync(normalizeBooleanFlags(program, argv), { from: 'user' });
    return outcome.code;
  } catch (err) {
    if (err instanceof CommanderError) return commanderExitCode(err);
    if (err instanceof OptionError || err instanceof CliError) {
      process.stderr.write(errorText(`herald: ${err.message}\n`));
      return err.exitCode;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Only a fault of Herald itself gets here: its stack is what a bug report needs.
    process.stderr.write(errorText(`herald: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`));
    process.exitCode = EXIT.software;
  },
);
