import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';

/**
 * sd_notify(3) for Node, which has no unix datagram sockets. A small long-lived helper (python3, on
 * every Debian and Raspberry Pi OS host) holds the AF_UNIX SOCK_DGRAM socket and forwards each line
 * it reads to $NOTIFY_SOCKET. Long-lived matters: systemd attributes a message by the sender's cgroup,
 * and a one-shot `systemd-notify` that exits before systemd reads the message can be dropped (a known
 * race in systemd 252). The unit sets NotifyAccess=all because the helper, not Node, sends.
 * Where python3 is missing, each message falls back to a `systemd-notify` run.
 */
const HELPER = `
import json, os, socket, sys
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for line in sys.stdin:
    try:
        s.sendto(json.loads(line).encode(), addr)
    except Exception as e:
        print("notify failed: %s" % e, file=sys.stderr, flush=True)
`;

export interface Notifier {
  /** Sends `KEY=value` lines, e.g. notify({ READY: '1', STATUS: '...' }). */
  notify(fields: Record<string, string>): void;
  /** Where the helper's own troubles are logged from now on (it starts before the logger exists). */
  useLogger(logger: Logger): void;
  close(): Promise<void>;
}

/**
 * Undefined without NOTIFY_SOCKET: outside systemd nothing is sent and nothing is spawned. Called at the
 * agent command's first moment: python3 takes 50-250 ms to start, which then overlaps the agent's own
 * loading instead of following READY. The helper is unref'd, so an agent that fails to start still exits;
 * python then reads end-of-file and exits too.
 */
export function createNotifier(env: NodeJS.ProcessEnv, clock: Clock = systemClock()): Notifier | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  // -I -S: no user site or site-packages scan, only the standard library it needs (a faster start).
  let helper: ChildProcess | undefined = spawn(env.HERALD_PYTHON ?? 'python3', ['-I', '-S', '-c', HELPER], {
    env: { ...env, NOTIFY_SOCKET: socket },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const troubles: { detail?: string }[] = [];
  let logger: Logger | undefined;
  // A socket that is not there fails every message (each watchdog ping): said once a minute, not each time.
  const said = new RateLimitedLog(clock, 60_000);
  const warn = (trouble: { detail?: string }) => {
    if (!said.allow('helper')) return;
    if (logger) logTrouble(logger, trouble);
    else troubles.push(trouble);
  };
  helper.on('error', () => {
    warn({});
    helper = undefined;
  });
  helper.stderr?.on('data', (d: Buffer) => warn({ detail: d.toString().trim() }));
  helper.stdin?.on('error', () => {});
  helper.unref();
  // A child's pipes are sockets, each holding the event loop open until unref'd.
  (helper.stdin as Socket | null)?.unref();
  (helper.stderr as Socket | null)?.unref();
  return {
    useLogger(l) {
      logger = l;
      for (const t of troubles.splice(0)) logTrouble(l, t);
    },
    notify(fields) {
      const message = Object.entries(fields)
        .map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`)
        .join('\n');
      if (helper?.stdin?.writable) helper.stdin.write(JSON.stringify(message) + '\n');
      else
        spawn(
          'systemd-notify',
          Object.entries(fields).map(([k, v]) => `${k}=${v}`),
          { stdio: 'ignore' },
        ).on('error', () => {});
    },
    async close() {
      const h = helper;
      helper = undefined;
      if (!h || h.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => h.once('exit', () => resolve()));
      h.stdin?.end();
      const timer = setTimeout(() => h.kill(), 1000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A helper that did not start (no detail) or that said why it could not send. */
function logTrouble(logger: Logger, trouble: { detail?: string }): void {
  if (trouble.detail === undefined)
    logger.warn('python3 not found for sd_notify; falling back to systemd-notify per message');
  else logger.warn({ detail: trouble.detail }, 'sd_notify helper');
}

/** The watchdog interval systemd asks for (WatchdogSec=), if it is meant for this process. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return usec / 1000;
}
