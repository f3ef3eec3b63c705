import { spawn, type ChildProcess } from 'node:child_process';

export const CLI = 'dist/src/cli/main.js';

export interface Running {
  proc: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Log lines of the agent (JSON on stdout), parsed. */
  logs(): Record<string, unknown>[];
  waitFor<T>(probe: () => T | undefined | false, timeoutMs?: number, what?: string): Promise<T>;
  exit(): Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the CLI as a real process: what a user runs, with its real signals, exit codes and output. */
export function runHerald(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; prefix?: string[]; nodeFlags?: string[] } = {},
): Running {
  const command = opts.prefix ? opts.prefix[0] : process.execPath;
  const node = [...(opts.nodeFlags ?? []), CLI, ...args];
  const argv = opts.prefix ? [...opts.prefix.slice(1), process.execPath, ...node] : node;
  const proc = spawn(command, argv, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const split = (into: string[]) => {
    let rest = '';
    return (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      const lines = rest.split('\n');
      rest = lines.pop()!;
      into.push(...lines);
    };
  };
  proc.stdout.on('data', split(stdout));
  proc.stderr.on('data', split(stderr));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const running: Running = {
    proc,
    stdout,
    stderr,
    logs: () =>
      stdout.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async waitFor(probe, timeoutMs = 5000, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = probe();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) {
          throw new Error(
            `timed out waiting for ${what}\nstdout:\n${stdout.slice(-20).join('\n')}\nstderr:\n${stderr.slice(-20).join('\n')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    exit: () => exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  return running;
}

/** A free-ish UDP port for a test's multicast group, so concurrent runs and a real agent never mix. */
export function testGroupPort(): number {
  return 20000 + Math.floor(Math.random() * 12000); // below the ephemeral range
}

/** The Node flags of the shipped unit's ExecStart: a test of the deployed agent runs with them. */
export function unitNodeFlags(unit: string): string[] {
  return /^ExecStart=\S+ ((?:--\S+ )*)/m.exec(unit)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}
