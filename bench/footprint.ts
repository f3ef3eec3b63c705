import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import {
  agentProcess,
  cpuSeconds,
  profilesDir,
  rssMiB,
  runSeconds,
  siteAgentArgs,
  stopProcess,
  unitNodeFlags,
} from './agent-process.js';
import { now, sleep, waitFor } from './harness.js';
import { startProcessCluster } from './scale/process-cluster.js';
import { median } from './stats.js';

/** One measured agent process: from its start until it holds every device, then settled and idle. */
export interface Footprint {
  /** Resident memory once settled: the median of samples over the idle window. */
  rssMiB: number;
  /** The highest sample while it took in the site's devices. */
  peakRssMiB: number;
  heapUsedMiB: number;
  idleCpuPercent: number;
  /** CPU time from process start until it held every device, and the wall time it took. */
  syncCpuSeconds: number;
  syncMs: number;
  /** Agents it held alive at the end of the idle window: all 102 when no peer was falsely lost. */
  aliveAfter: number;
}

/** The agent as the unit runs it, and the same agent with Node's default flags, on the same site. */
export interface MemoryResults {
  devices: number;
  flags: string[];
  settleSeconds: number;
  idleSeconds: number;
  unit: Footprint;
  defaults: Footprint;
  /** A bare Node process (the unit's flags) receiving the same datagrams in the same window. */
  floorIdleCpuPercent: number;
  bareNodeRssMiB: number;
  /** The 100-agent site's own cold start, converged before the measured agents start. */
  siteConvergedMs?: number;
}

export interface Measured {
  proc: ChildProcess;
  api: string;
  t0: number;
  peak: number;
}

export async function startMeasured(
  name: string,
  site: string,
  port: number,
  profiles: string,
  nodeFlags: string[],
  extraArgs: string[] = [],
): Promise<Measured> {
  const t0 = now();
  const args = [...siteAgentArgs(name, site, port, profiles), '--log-level', 'info', ...extraArgs];
  const proc = agentProcess(args, {}, nodeFlags);
  let api: string | undefined;
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => {
    // Read on (a full pipe would stall the agent), but matched only until the line is found.
    if (api) return;
    out += c.toString();
    const m =
      /"msg":"agent started".*?"api":"([^"]+)"/.exec(out) ?? /"api":"([^"]+)".*?"msg":"agent started"/.exec(out);
    if (m) api = m[1];
  });
  const deadline = Date.now() + 10_000;
  while (!api) {
    if (Date.now() > deadline || proc.exitCode !== null) {
      // Not yet in the caller's list of processes to stop: left running, it outlived the bench (seen at load 137).
      proc.kill('SIGKILL');
      throw new Error(`measured agent ${name} did not start`);
    }
    await sleep(20);
  }
  return { proc, api, t0, peak: 0 };
}

export async function gauge(api: string, name: string): Promise<number> {
  const metrics = await (await request(`http://${api}/metrics`)).body.text();
  return Number(new RegExp(`^${name} (\\d+(?:\\.\\d+)?)`, 'm').exec(metrics)?.[1] ?? NaN);
}

/** Until it holds `expected` devices: the CPU time from process start, and the wall time. */
async function untilHolds(m: Measured, expected: number): Promise<{ syncCpuSeconds: number; syncMs: number }> {
  const deadline = Date.now() + 60_000;
  // The devices gauge: a listing of 5,000 devices on every poll would weigh on what is measured.
  while ((await gauge(m.api, 'herald_devices')) < expected) {
    if (Date.now() > deadline) return { syncCpuSeconds: await cpuSeconds(m.proc.pid!), syncMs: Infinity };
    m.peak = Math.max(m.peak, await rssMiB(m.proc.pid!));
    await sleep(200);
  }
  return { syncCpuSeconds: await cpuSeconds(m.proc.pid!), syncMs: now() - m.t0 };
}

/** A bare Node process with the unit's flags that only receives the site's datagrams: the floor. */
export function floorProcess(port: number): ChildProcess {
  const receiver = `
      const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true });
      s.on('message', () => {});
      s.bind(${port}, '239.255.70.70', () => s.addMembership('239.255.70.70', '127.0.0.1'));`;
  return spawn(process.execPath, [...unitNodeFlags(), '-e', receiver], { stdio: 'ignore' });
}

/** The idle window: RSS of the measured agents each second, and CPU % of a core of each pid over it. */
async function idleWindow(
  measured: Measured[],
  floor: ChildProcess,
  idleSeconds: number,
): Promise<{ rss: number[][]; idle: number[] }> {
  const pids = [...measured.map((m) => m.proc.pid!), floor.pid!];
  const cpu0 = await Promise.all(pids.map(runSeconds));
  const w0 = now();
  const rss: number[][] = measured.map(() => []);
  while (now() - w0 < idleSeconds * 1000) {
    await sleep(1000);
    for (const [i, m] of measured.entries()) rss[i].push(await rssMiB(m.proc.pid!));
  }
  const seconds = (now() - w0) / 1000;
  const idle = (await Promise.all(pids.map(runSeconds))).map((c, i) => ((c - cpu0[i]) / seconds) * 100);
  return { rss, idle };
}

async function bareNodeRss(): Promise<number> {
  const bare = spawn(process.execPath, [...unitNodeFlags(), '-e', 'setTimeout(() => {}, 3000)']);
  await sleep(1500);
  const rss = await rssMiB(bare.pid!);
  bare.kill();
  return rss;
}

/**
 * RSS and idle CPU of an agent whose directory holds 5,000 devices from 100 agents, as the unit runs
 * it and with Node's defaults, side by side: each joins the converged site, takes in every device
 * (CPU, time, peak memory), settles, then idles among the site's live agents next to a bare Node
 * process that receives the same multicast (the floor any Node agent pays for it on this machine).
 * The site runs in child processes of its own, so each measured pid's CPU and RSS are its own; it
 * stays live (a replay of heartbeats no longer fits a site whose intervals scale with its size).
 */
export async function memoryAt5000(
  dir: string,
  timing: { settleSeconds: number; idleSeconds: number },
): Promise<MemoryResults> {
  const port = 32000 + (process.pid % 1000);
  const profiles = await profilesDir(dir, 5);
  const siteName = `b${port}`;
  const site = await startProcessCluster(
    { agents: 100, devicesPerAgent: 50, loss: 0, heartbeatMs: 1000, seed: 5, port, startSpreadMs: 1000 },
    true,
  );
  const started: Measured[] = [];
  let floor: ChildProcess | undefined;
  try {
    // Not converged in 90 s (a machine too loaded to run the site): measured all the same, and the
    // table says "never" beside it.
    const converged = await waitFor(() => site.converged(), 90_000, 50);
    const siteConvergedMs = converged === undefined ? Infinity : now() - site.startedAt;
    // Every device of the site: 100 agents of 50, and the two measured agents' 5 each.
    const expected = 100 * 50 + 2 * 5;
    const unit = await startMeasured('measured-unit', siteName, port, profiles, unitNodeFlags());
    started.push(unit);
    const defaults = await startMeasured('measured-defaults', siteName, port, profiles, []);
    started.push(defaults);
    const sync = [await untilHolds(unit, expected), await untilHolds(defaults, expected)];
    await sleep(timing.settleSeconds * 1000);

    floor = floorProcess(port);
    await sleep(3000);
    const { rss, idle } = await idleWindow([unit, defaults], floor, timing.idleSeconds);
    const footprint = async (m: Measured, i: number): Promise<Footprint> => ({
      rssMiB: median(rss[i]),
      peakRssMiB: Math.max(m.peak, ...rss[i]),
      heapUsedMiB: (await gauge(m.api, 'herald_process_heap_used_bytes')) / 2 ** 20,
      idleCpuPercent: idle[i],
      aliveAfter: await gauge(m.api, 'herald_agents\\{state="alive"\\}'),
      ...sync[i],
    });
    const result = { unit: await footprint(unit, 0), defaults: await footprint(defaults, 1) };
    return {
      devices: expected,
      flags: unitNodeFlags(),
      ...timing,
      ...result,
      floorIdleCpuPercent: idle[2],
      bareNodeRssMiB: await bareNodeRss(),
      siteConvergedMs,
    };
  } finally {
    floor?.kill();
    for (const m of started) await stopProcess(m.proc);
    await site.stop();
  }
}
