import { resolveConfig } from '../config/resolve.js';
import { EXIT } from '../config/options.js';
import type { Notifier } from '../systemd/notify.js';
import { createLogger } from '../util/logger.js';
import { stdoutIsJournal } from '../util/journald.js';
import { AgentSupervisor } from './agent-supervisor.js';

/** What `herald agent` would run with, without running it: for checking a unit's flags, env and file. */
export async function printConfig(values: Record<string, unknown>, configFile?: string): Promise<number> {
  const config = await resolveConfig({ flags: values, env: process.env, configFile });
  process.stdout.write(JSON.stringify(config, null, 2) + '\n');
  return EXIT.ok;
}

/**
 * Runs the agent until SIGTERM/SIGINT. `values` are the flags given, by flag name; `notifier` is systemd's,
 * started by the caller before this module loads.
 */
export async function runAgentCommand(
  values: Record<string, unknown>,
  configFile: string | undefined,
  notifier: Notifier | undefined,
): Promise<number> {
  const reconfigure = () => resolveConfig({ flags: values, env: process.env, configFile });
  const config = await reconfigure();
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    journald: stdoutIsJournal(process.env),
  });
  notifier?.useLogger(logger);
  return new AgentSupervisor(config, logger, reconfigure, notifier).run();
}
