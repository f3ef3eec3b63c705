#!/usr/bin/env node
import { EXIT, OptionError } from '../config/options.js';
import { runAgentCommand } from './agent-command.js';
import { runCheckCommand } from './check-command.js';
import { runDemoCommand } from './demo-command.js';
import { generateKey } from '../security/cluster-key.js';
import { runGetCommand, runLsCommand, runWatchCommand } from './query-commands.js';

const USAGE = `herald: device discovery for edge and IoT networks

Usage: herald <command> [options]

Commands:
  agent        run the agent (herald agent --help for its options)
  ls           list devices known to a running agent
  get          show one device: herald get AGENT/DEVICE
  watch        follow directory changes as they happen
  check [DIR]  validate device profiles (default ./device-profiles)
  demo         run a local cluster on loopback and watch it converge
  keygen       print a new random cluster key (for --key-file)

Every command takes --help.`;

// Commands load on demand: the agent process does not carry the query commands' HTTP client (a
// dozen megabytes of resident memory on a small host).
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  agent: async (argv) => (await import('./agent-command.js')).runAgentCommand(argv),
  ls: async (argv) => (await import('./query-commands.js')).runLsCommand(argv),
  get: async (argv) => (await import('./query-commands.js')).runGetCommand(argv),
  watch: async (argv) => (await import('./query-commands.js')).runWatchCommand(argv),
  check: async (argv) => (await import('./check-command.js')).runCheckCommand(argv),
  demo: async (argv) => (await import('./demo-command.js')).runDemoCommand(argv),
  keygen: async (argv) => {
    const { generateKey } = await import('../security/cluster-key.js');
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(
        'Usage: herald keygen > /etc/herald/cluster.key\n\nPrints a new random 256-bit cluster key in hex. Give every agent of the site the same key file.\n',
      );
      return 0;
    }
    process.stdout.write(generateKey() + '\n');
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? EXIT.usage : 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(
      `herald: unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')}; see herald --help)\n`,
    );
    return EXIT.usage;
  }
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof OptionError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`herald: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT.software;
  },
);
