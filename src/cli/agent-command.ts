import { ProfileLoadError, type Agent } from '../agent/agent.js';
import { createHostAgent, type HostAgent } from '../agent/host-agent.js';
import { followInterfaceAddress, type ResolvedInterface } from '../agent/interfaces.js';
import { AGENT_OPTIONS, EXIT, OptionError, type AgentConfig } from '../config/options.js';
import { resolveConfig } from '../config/resolve.js';
import { formatProfileError } from '../profiles/load.js';
import { TokenFileError } from '../security/api-token.js';
import { KeyFileError } from '../security/cluster-key.js';
import { createNotifier, watchdogIntervalMs } from '../systemd/notify.js';
import { createLogger } from '../util/logger.js';

/** Shutdown must be done within this; past it the process exits anyway (systemd would kill it). */
const SHUTDOWN_DEADLINE_MS = 2000;

/** What `herald agent` would run with, without running it: for checking a unit's flags, env and file. */
export async function printConfig(values: Record<string, unknown>, configFile?: string): Promise<number> {
  const config = await resolveConfig({ flags: values, env: process.env, configFile });
  process.stdout.write(JSON.stringify(config, null, 2) + '\n');
  return EXIT.ok;
}

/** Runs the agent until SIGTERM/SIGINT. `values` are the flags given, by flag name. */
export async function runAgentCommand(values: Record<string, unknown>, configFile?: string): Promise<number> {
  let config = await resolveConfig({ flags: values, env: process.env, configFile });
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  let agent: Agent;
  let host: HostAgent;
  try {
    host = await createHostAgent(config, logger);
    agent = host.agent;
  } catch (err) {
    process.stderr.write(`herald: ${(err as Error).message}\n`);
    if (err instanceof OptionError) return err.exitCode;
    return err instanceof KeyFileError || err instanceof TokenFileError ? EXIT.config : EXIT.usage;
  }
  // Signals are taken from the first moment: a stop asked for while the agent starts (systemd may stop
  // a unit that is still starting) is carried out once it is up, with its goodbye, rather than by the
  // default action of the signal, which would kill the process before it has a handler.
  let stopAsked: string | undefined;
  let onStop: ((signal: string) => void) | undefined;
  let onReload: (() => void) | undefined;
  const asked = (signal: string) => (onStop ? onStop(signal) : (stopAsked ??= signal));
  process.on('SIGTERM', () => asked('SIGTERM'));
  process.on('SIGINT', () => asked('SIGINT'));
  process.on('SIGHUP', () => onReload?.());
  try {
    await agent.start();
  } catch (err) {
    await agent.stop({ goodbye: false });
    if (err instanceof ProfileLoadError) {
      for (const e of err.errors) process.stderr.write(formatProfileError(e) + '\n');
      process.stderr.write(
        `herald: refusing to start: ${err.errors.length} error(s) in ${config.profiles} (check them with: herald check ${config.profiles})\n`,
      );
      return EXIT.config;
    }
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES') {
      process.stderr.write(
        `herald: cannot listen on ${e.address ?? ''}:${e.port ?? ''}: ${e.code} (another agent running? choose --api or --peer-port)\n`,
      );
      return EXIT.unavailable;
    }
    throw err;
  }

  // systemd: READY once the sockets are bound and the profiles loaded; a watchdog ping from the event
  // loop itself, so that a wedged loop gets the service restarted; a one-line STATUS.
  const notifier = createNotifier(process.env, logger);
  const status = () => {
    const c = agent.directory.counts();
    const mqtt = agent.readiness().checks.mqtt as { ok: boolean } | undefined;
    return `${c.agents.alive} agents alive${c.agents.lost ? `, ${c.agents.lost} lost` : ''}, ${c.devices} devices${mqtt ? `, MQTT ${mqtt.ok ? 'connected' : 'disconnected'}` : ''}`;
  };
  notifier?.notify({ READY: '1', STATUS: status(), MAINPID: String(process.pid) });
  const watchdogMs = watchdogIntervalMs(process.env);
  const timers: NodeJS.Timeout[] = [];
  if (notifier && watchdogMs) timers.push(setInterval(() => notifier.notify({ WATCHDOG: '1' }), watchdogMs / 2));
  if (notifier) timers.push(setInterval(() => notifier.notify({ STATUS: status() }), 10_000));

  const reload = async () => {
    notifier?.notify({ RELOADING: '1', STATUS: 'reloading configuration and profiles' });
    try {
      const next = await resolveConfig({ flags: values, env: process.env, configFile });
      const needRestart = restartNeeded(config, next);
      if (needRestart.length > 0)
        logger.warn({ options: needRestart }, 'these options changed but take effect only after a restart');
      if (next.logLevel !== config.logLevel) {
        logger.level = next.logLevel;
        logger.info({ logLevel: next.logLevel }, 'log level changed');
      }
      config = next;
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'new configuration refused; keeping the one in use');
    }
    await host.reloadSecrets();
    await agent.reload('SIGHUP');
    notifier?.notify({ READY: '1', STATUS: status() });
  };

  // A DHCP lease that moves the interface to another address: the agent starts again on the new one,
  // as a restart would (a new incarnation, so peers replace what they held of the old), without the
  // process going away. Sockets, the mDNS records and device endpoints all carry the address.
  let moving: Promise<void> | undefined;
  let stopping = false;
  const moveTo = (next: ResolvedInterface) => {
    if (moving || stopping) return;
    moving = (async () => {
      logger.warn(
        { interface: next.name, from: host.iface.address, to: next.address },
        'interface address changed; starting again on the new address',
      );
      notifier?.notify({ RELOADING: '1', STATUS: `moving to ${next.address}` });
      await agent.stop();
      try {
        host = await createHostAgent(config, logger);
        agent = host.agent;
        await agent.start();
      } catch (err) {
        logger.error(
          { err: (err as Error).message },
          'could not start again on the new address; exiting for the service manager to restart the agent',
        );
        process.exit(EXIT.software);
      }
      follower.moved(host.iface.address);
      notifier?.notify({ READY: '1', STATUS: status() });
    })().finally(() => {
      moving = undefined;
    });
  };
  const follower = followInterfaceAddress(config.interface, host.iface.address, { onChange: moveTo });

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(EXIT.software);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      notifier?.notify({ STOPPING: '1', STATUS: 'shutting down' });
      for (const t of timers) clearInterval(t);
      const deadline = setTimeout(() => {
        logger.error({ ms: SHUTDOWN_DEADLINE_MS }, 'shutdown took too long; exiting');
        process.exit(EXIT.software);
      }, SHUTDOWN_DEADLINE_MS + 1000);
      deadline.unref();
      follower.stop();
      Promise.resolve(moving)
        .then(() => agent.stop())
        .then(
          async () => {
            await notifier?.close();
            resolve(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            resolve(EXIT.software);
          },
        );
    };
    onStop = stop;
    onReload = () => void reload();
    if (stopAsked) stop(stopAsked);
  });
}

function restartNeeded(current: AgentConfig, next: AgentConfig): string[] {
  return AGENT_OPTIONS.filter((o) => o.restart && JSON.stringify(current[o.key]) !== JSON.stringify(next[o.key])).map(
    (o) => o.flag,
  );
}
