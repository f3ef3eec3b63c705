import { ProfileLoadError } from '../agent/agent.js';
import { createHostAgent } from '../agent/host-agent.js';
import { AGENT_OPTIONS, EXIT, OptionError } from '../config/options.js';
import { KeyFileError } from '../security/cluster-key.js';
import { resolveConfig } from '../config/resolve.js';
import { formatProfileError } from '../profiles/load.js';
import { createLogger } from '../util/logger.js';
import { parseCommandArgs } from './args.js';

const HELP = `Usage: herald agent [options]

Runs the agent: advertises this host's device profiles and keeps the site's directory.
Each option is also a config file key and an environment variable; flags beat the environment,
which beats the file.

  --config FILE          YAML config file (env HERALD_CONFIG)
${AGENT_OPTIONS.map((o) => `  --${`${o.flag} VALUE`.padEnd(21)}${o.help} [${o.env}]`).join('\n')}`;

export async function runAgentCommand(argv: string[]): Promise<number> {
  const options = Object.fromEntries(AGENT_OPTIONS.map((o) => [o.flag, { type: 'string' as const }]));
  const { values } = parseCommandArgs('agent', argv, { ...options, config: { type: 'string' } });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const config = await resolveConfig({ flags: values, env: process.env, configFile: values.config as string | undefined });
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  let agent;
  let host;
  try {
    host = await createHostAgent(config, logger);
    agent = host.agent;
  } catch (err) {
    process.stderr.write(`herald: ${(err as Error).message}\n`);
    if (err instanceof OptionError) return err.exitCode;
    return err instanceof KeyFileError || /token file/.test((err as Error).message) ? EXIT.config : EXIT.usage;
  }
  try {
    await agent.start();
  } catch (err) {
    await agent.stop({ goodbye: false });
    if (err instanceof ProfileLoadError) {
      for (const e of err.errors) process.stderr.write(formatProfileError(e) + '\n');
      process.stderr.write(`herald: refusing to start: ${err.errors.length} error(s) in ${config.profiles} (check them with: herald check ${config.profiles})\n`);
      return EXIT.config;
    }
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES') {
      process.stderr.write(`herald: cannot listen on ${e.address ?? ''}:${e.port ?? ''}: ${e.code} (another agent running? choose --api or --peer-port)\n`);
      return 69; // EX_UNAVAILABLE
    }
    throw err;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(EXIT.software);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      agent.stop().then(() => resolve(0), (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve(EXIT.software);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      void host.reloadSecrets().then(() => agent.reload('SIGHUP'));
    });
  });
}
