import { installProcessGuard } from '../agent/process-guard.js';
import { ProfileLoadError } from '../agent/agent.js';
import { createHostAgent, type HostAgent } from '../agent/host-agent.js';
import { followInterfaceAddress, type ResolvedInterface } from '../agent/interfaces.js';
import { AGENT_OPTIONS, EXIT, OptionError, type AgentConfig } from '../config/options.js';
import { formatProfileError } from '../profiles/load.js';
import { TokenFileError } from '../security/api-token.js';
import { KeyFileError } from '../security/cluster-key.js';
import { TransportStartError } from '../transport/udp-multicast.js';
import { watchdogIntervalMs, type Notifier } from '../systemd/notify.js';
import { errorText } from '../util/journald.js';
import type { Logger } from '../util/logger.js';

/** Shutdown must be done within this; past it the process exits anyway (systemd would kill it). */
const SHUTDOWN_DEADLINE_MS = 2000;
/** How often systemd's STATUS line is refreshed. */
const STATUS_EVERY_MS = 10_000;

/** Start-up failures the operator can fix, each with the exit code that says which kind. */
function startFailureCode(err: unknown): number | undefined {
  if (err instanceof OptionError) return err.exitCode;
  if (err instanceof KeyFileError || err instanceof TokenFileError || err instanceof ProfileLoadError)
    return EXIT.config;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') return EXIT.unavailable;
  // The interface lost its address between its lookup and the join (a DHCP lease): a restart may find it again.
  if (err instanceof TransportStartError && code !== undefined) return EXIT.unavailable;
  return undefined;
}

/** What the operator can do about a datagram socket that would not start, by the step that failed. */
const TRANSPORT_ADVICE: Record<TransportStartError['step'], string> = {
  'group-port':
    'another program holds that UDP port without sharing it, as the agents of a host do: ' +
    'stop it, or choose another --group for the whole site',
  join: 'is the interface up, with multicast, at that address? see --interface',
  endpoint: 'is the interface up at that address? see --interface',
};

function startFailureText(err: unknown, config: AgentConfig): string {
  if (err instanceof ProfileLoadError) {
    const errors = err.errors.map(formatProfileError).join('\n');
    return `${errors}\nherald: refusing to start: ${config.profiles} cannot be read`;
  }
  if (err instanceof TransportStartError) return `herald: ${err.message} (${TRANSPORT_ADVICE[err.step]})`;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES') {
    const where = `${e.address ?? ''}:${e.port ?? ''}`;
    return `herald: cannot listen on ${where}: ${e.code} (another agent running? choose --api or --peer-port)`;
  }
  return `herald: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Runs one agent process's life: start, reload on SIGHUP, start again on a new interface address, stop
 * on SIGTERM/SIGINT, each a small step, with systemd told of each (READY, RELOADING, STOPPING, STATUS,
 * the watchdog). `reconfigure` reads the configuration again (flags, environment, file) for a reload.
 */
export class AgentSupervisor {
  private host: HostAgent | undefined;
  private follower: { stop(): void; moved(to: string): void } | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopAsked: string | undefined;
  private stopping = false;
  private moving: Promise<void> | undefined;
  private finish: ((code: number) => void) | undefined;

  constructor(
    private config: AgentConfig,
    private readonly logger: Logger,
    private readonly reconfigure: () => Promise<AgentConfig>,
    private readonly notifier: Notifier | undefined,
  ) {}

  /** Resolves with the process's exit code once the agent has stopped (or could not start). */
  async run(): Promise<number> {
    const failed = await this.start();
    if (failed !== undefined) return failed;
    this.tellSystemd();
    const host = this.host as HostAgent;
    this.follower = followInterfaceAddress(this.config.interface, host.iface.address, {
      onChange: (next) => this.moveTo(next),
    });
    return new Promise<number>((resolve) => {
      this.finish = resolve;
      if (this.stopAsked) this.stop(this.stopAsked);
    });
  }

  /** The exit code when the agent cannot start, undefined once it runs. */
  private async start(): Promise<number | undefined> {
    try {
      this.host = await createHostAgent(this.config, this.logger);
    } catch (err) {
      const code = startFailureCode(err);
      if (code === undefined) throw err;
      process.stderr.write(errorText(startFailureText(err, this.config) + '\n'));
      return code;
    }
    this.takeSignals();
    try {
      await this.host.agent.start();
    } catch (err) {
      await this.host.agent.stop({ goodbye: false });
      const code = startFailureCode(err);
      if (code === undefined) throw err;
      process.stderr.write(errorText(startFailureText(err, this.config) + '\n'));
      return code;
    }
    return undefined;
  }

  /**
   * Signals are taken from the first moment: a stop asked for while the agent starts (systemd may stop a
   * unit that is still starting) is carried out once it is up, with its goodbye, rather than by the
   * signal's default action, which would kill the process before it has a handler.
   */
  private takeSignals(): void {
    const asked = (signal: string) => (this.finish ? this.stop(signal) : (this.stopAsked ??= signal));
    process.on('SIGTERM', () => asked('SIGTERM'));
    process.on('SIGINT', () => asked('SIGINT'));
    process.on('SIGHUP', () => void this.reload());
    installProcessGuard(this.logger, (kind) => this.host?.agent.metrics.bugs.inc({ where: kind }));
  }

  /**
   * READY once the sockets are bound, the profiles loaded and the API serves; a watchdog ping from the event loop
   * itself, so that a wedged loop gets the service restarted; a one-line STATUS.
   */
  private tellSystemd(): void {
    const notifier = this.notifier;
    if (!notifier) return;
    notifier.notify({ READY: '1', STATUS: this.status(), MAINPID: String(process.pid) });
    const watchdogMs = watchdogIntervalMs(process.env);
    if (watchdogMs) this.timers.push(setInterval(() => notifier.notify({ WATCHDOG: '1' }), watchdogMs / 2));
    this.timers.push(setInterval(() => notifier.notify({ STATUS: this.status() }), STATUS_EVERY_MS));
  }

  private status(): string {
    const agent = (this.host as HostAgent).agent;
    const c = agent.directory.counts();
    const mqtt = agent.readiness().checks.mqtt as { ok: boolean } | undefined;
    const lost = c.agents.lost ? `, ${c.agents.lost} lost` : '';
    const broker = mqtt ? `, MQTT ${mqtt.ok ? 'connected' : 'disconnected'}` : '';
    return `${c.agents.alive} agents alive${lost}, ${c.devices} devices${broker}`;
  }

  /**
   * SIGHUP: the configuration, the key file, then the profiles. A new configuration or key file that
   * cannot be read refuses the whole reload: the running one stays, and the error says so, rather
   * than a warning now and an exit 78 at the next start.
   */
  private async reload(): Promise<void> {
    const host = this.host;
    if (!host || this.stopping) return;
    this.notifier?.notify({ RELOADING: '1', STATUS: 'reloading configuration, key and profiles' });
    try {
      const next = await this.reconfigure();
      await host.reloadSecrets(); // throws KeyFileError, keeping the keys in use
      this.applyConfig(next);
      await host.agent.reload('SIGHUP');
      this.notifier?.notify({ READY: '1', STATUS: this.status() });
    } catch (err) {
      if (!(err instanceof OptionError || err instanceof KeyFileError)) throw err;
      this.logger.error({ err: err.message }, 'reload refused; keeping the configuration, key and profiles in use');
      this.notifier?.notify({ READY: '1', STATUS: `reload refused: ${err.message}` });
    }
  }

  private applyConfig(next: AgentConfig): void {
    const changed = AGENT_OPTIONS.filter(
      (o) => o.restart && JSON.stringify(this.config[o.key]) !== JSON.stringify(next[o.key]),
    );
    if (changed.length > 0)
      this.logger.warn(
        { options: changed.map((o) => o.flag) },
        'these options changed but take effect only after a restart',
      );
    if (next.logLevel !== this.config.logLevel) {
      this.logger.level = next.logLevel;
      this.logger.info({ logLevel: next.logLevel }, 'log level changed');
    }
    this.config = next;
  }

  /**
   * A DHCP lease that moves the interface to another address: the agent starts again on the new one, as
   * a restart would (a new incarnation, so peers replace what they held of the old), without the process
   * going away. Sockets, the mDNS records and device endpoints all carry the address.
   */
  private moveTo(next: ResolvedInterface): void {
    if (this.moving || this.stopping) return;
    this.moving = this.restartOn(next).finally(() => {
      this.moving = undefined;
    });
  }

  private async restartOn(next: ResolvedInterface): Promise<void> {
    const from = (this.host as HostAgent).iface.address;
    this.logger.warn({ interface: next.name, from, to: next.address }, 'interface address changed; starting again');
    this.notifier?.notify({ RELOADING: '1', STATUS: `moving to ${next.address}` });
    await (this.host as HostAgent).agent.stop();
    try {
      this.host = await createHostAgent(this.config, this.logger);
      await this.host.agent.start();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ err: message }, 'could not start again on the new address; exiting for a restart');
      process.exit(EXIT.software);
    }
    this.follower?.moved(this.host.iface.address);
    this.notifier?.notify({ READY: '1', STATUS: this.status() });
  }

  private stop(signal: string): void {
    if (this.stopping) {
      this.logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(EXIT.software);
    }
    this.stopping = true;
    this.logger.info({ signal }, 'shutting down');
    this.notifier?.notify({ STOPPING: '1', STATUS: 'shutting down' });
    for (const t of this.timers) clearInterval(t);
    const deadline = setTimeout(() => {
      this.logger.error({ ms: SHUTDOWN_DEADLINE_MS }, 'shutdown took too long; exiting');
      process.exit(EXIT.software);
    }, SHUTDOWN_DEADLINE_MS + 1000);
    deadline.unref();
    this.follower?.stop();
    void Promise.resolve(this.moving)
      .then(() => (this.host as HostAgent).agent.stop())
      .then(
        async () => {
          await this.notifier?.close();
          this.finish?.(EXIT.ok);
        },
        (err: unknown) => {
          this.logger.error({ err }, 'shutdown failed');
          this.finish?.(EXIT.software);
        },
      );
  }
}
