import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unitNodeFlags as flagsOf } from '../test/helpers/process.js';
import { benchDevice } from './system.js';

/** Agent processes as the service runs them, and what /proc says of them. */

const CLI = 'dist/src/cli/main.js';

/** The Node flags of the shipped unit's ExecStart: the agent is measured as it is deployed. */
export function unitNodeFlags(): string[] {
  try {
    return flagsOf(readFileSync('systemd/herald.service', 'utf8'));
  } catch {
    return [];
  }
}

export function agentProcess(args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags = unitNodeFlags()): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...nodeFlags,
      CLI,
      'agent',
      '--log-format',
      'json',
      '--log-level',
      'warn',
      '--interface',
      'lo',
      '--discovery',
      'multicast',
      ...args,
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/** An agent of `site` on its group port, its API and peer endpoint on ports of its own, serving `profiles`. */
export function siteAgentArgs(name: string, site: string, port: number, profiles: string): string[] {
  return [
    ...['--name', name, '--site', site, '--group', `239.255.70.70:${port}`],
    ...['--api', '127.0.0.1:0', '--peer-port', '0', '--profiles', profiles],
  ];
}

export async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  await exited;
}

export function rssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+) kB/.exec(s)![1]) / 1024);
}

/** CPU time of the whole process, threads that ended included, in ticks of 10 ms. */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100)
}

/** CPU time of the live threads in nanoseconds (schedstat): fine enough for an idle process over seconds. */
export async function runSeconds(pid: number): Promise<number> {
  let ns = 0;
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const text = await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => '0');
    ns += Number(text.split(' ')[0]);
  }
  return ns / 1e9;
}

export async function profilesDir(dir: string, n: number): Promise<string> {
  const p = join(dir, `profiles-${n}`);
  await mkdir(p, { recursive: true });
  for (let k = 0; k < n; k++) {
    await writeFile(join(p, `d${k}.json`), JSON.stringify({ ...benchDevice('measured', k), names: [] }));
  }
  return p;
}
