import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../util/logger.js';

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
  close(): Promise<void>;
}

/** Undefined without NOTIFY_SOCKET: outside systemd nothing is sent and nothing is spawned. */
export function createNotifier(env: NodeJS.ProcessEnv, logger: Logger): Notifier | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  let helper: ChildProcess | undefined = spawn(env.HERALD_PYTHON ?? 'python3', ['-c', HELPER], {
    env: { ...env, NOTIFY_SOCKET: socket },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  helper.on('error', () => {
    logger.warn('python3 not found for sd_notify; falling back to systemd-notify per message');
    helper = undefined;
  });
  helper.stderr?.on('data', (d: Buffer) => logger.warn({ detail: d.toString().trim() }, 'sd_notify helper'));
  helper.stdin?.on('error', () => {});
  return {
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

/** The watchdog interval systemd asks for (WatchdogSec=), if it is meant for this process. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return usec / 1000;
}
