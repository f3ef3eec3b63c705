import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { agentProcess, profilesDir, siteAgentArgs, stopProcess } from './agent-process.js';
import { now, sleep } from './harness.js';
import { median } from './stats.js';

/** A unix datagram socket standing in for systemd (python3; Node has no such sockets). */
async function notifySocket(dir: string): Promise<{ path: string; onReady: () => Promise<number>; close: () => void }> {
  const path = join(dir, `n${Math.random().toString(36).slice(2)}.sock`);
  const proc = spawn('python3', ['test/helpers/notify_socket.py', path], { stdio: ['ignore', 'pipe', 'ignore'] });
  const heard = { listening: false, readyAt: undefined as number | undefined };
  proc.stdout.on('data', (c: Buffer) => {
    for (const line of c.toString().split('\n')) {
      if (line === 'listening') heard.listening = true;
      else if (line.includes('READY=1') && heard.readyAt === undefined) heard.readyAt = now();
    }
  });
  while (!heard.listening) await sleep(10);
  return {
    path,
    onReady: async () => {
      while (heard.readyAt === undefined) await sleep(2);
      return heard.readyAt;
    },
    close: () => proc.kill(),
  };
}

/** Process start to READY=1, against a bare `node -e 0` start measured in the same run. */
export async function readyTimes(dir: string, runs: number): Promise<{ herald: number; bareNode: number }> {
  const profiles = await profilesDir(dir, 5);
  const herald: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    const sock = await notifySocket(dir);
    const t0 = now();
    const p = agentProcess(siteAgentArgs(`ready-${i}`, `ready${process.pid}`, 31000 + i, profiles), {
      NOTIFY_SOCKET: sock.path,
    });
    herald.push((await sock.onReady()) - t0);
    await stopProcess(p);
    sock.close();
    const b0 = now();
    await new Promise<void>((r) => spawn(process.execPath, ['-e', '0']).once('exit', () => r()));
    bare.push(now() - b0);
  }
  return { herald: median(herald), bareNode: median(bare) };
}
