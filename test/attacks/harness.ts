/**
 * The attack suite's shared harness: a keyed site of agent processes (or an open one, without a key), each
 * in its own network namespace and run with the shipped unit's Node flags, plus one more namespace for the
 * attacker. It measures what
 * a user would check while an attack runs: RSS of an agent process, /livez latency (p99) and whether
 * every agent still sees every other one alive. Everything it makes is removed by destroy(), which a
 * test calls in a finally.
 *
 *   const site = await AttackSite.create({ agents: 3 });
 *   try {
 *     const watch = site.watch(site.agents[0], 4000);      // observer + RSS sampling, in parallel
 *     await site.tool(site.attacker, 'flood', {...});     // the attack, from the attacker's namespace
 *     const seen = await watch;                            // { monitor: {p99, notAlive, ...}, rssMaxMb }
 *   } finally { await site.destroy(); }
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateKey } from '../../src/security/cluster-key.js';
import { netnsMissing, NetnsSite, Testbed, type Host } from '../helpers/netns.js';
import { testGroupPort, unitNodeFlags } from '../helpers/process.js';

export const TOOLS = 'dist/test/attacks/tools.js';
export const API_PORT = 7755;
export const PEER_PORT = 7771;
export const GROUP = '239.255.70.70';

/** What an attack test needs (root, ip, nft, curl); undefined when all is there. */
export function attackMissing(): string | undefined {
  return netnsMissing();
}

export interface Monitored {
  livez: number;
  failed: number;
  p50: number;
  p99: number;
  notAlive: string[];
}

export class AttackSite {
  private constructor(
    readonly bed: Testbed,
    readonly root: string,
    readonly site: NetnsSite,
    readonly agents: Host[],
    readonly attacker: Host,
    readonly groupPort: number,
    /** The cluster key's file; undefined on an open site. */
    readonly keyFile: string | undefined,
  ) {}

  /**
   * `agents` keyed agents with one device each, converged, and an attacker host on the same LAN.
   * `prepare` runs once the hosts exist and before any agent starts (a broker on the attacker's host,
   * say); it may return arguments for some agents alone, by host name. `open`: no cluster key (the default
   * of an agent), for the attacks an open site is exposed to.
   */
  static async create(
    opts: {
      agents?: number;
      open?: boolean;
      extraArgs?: string[];
      prepare?: (bed: Testbed, hosts: Host[]) => Promise<Record<string, string[]> | undefined>;
    } = {},
  ): Promise<AttackSite> {
    const count = opts.agents ?? 3;
    const bed = new Testbed();
    const root = await mkdtemp(join(tmpdir(), 'herald-attack-'));
    try {
      const hosts = await bed.create(count + 1);
      const keyFile = opts.open ? undefined : join(root, 'cluster.key');
      if (keyFile) await writeFile(keyFile, generateKey() + '\n', { mode: 0o600 });
      const groupPort = testGroupPort();
      const flags = unitNodeFlags(await readFile('systemd/herald.service', 'utf8'));
      const keyArgs = keyFile ? ['--key-file', keyFile] : [];
      const args = [...keyArgs, '--group', `${GROUP}:${groupPort}`, '--discovery', 'multicast'];
      const site = new NetnsSite(bed, root, [...args, ...(opts.extraArgs ?? [])], flags);
      const agents = hosts.slice(0, count);
      const own = (await opts.prepare?.(bed, hosts)) ?? {};
      for (const h of agents) await site.writeDevice(h, `${h.name}-dev`);
      for (const h of agents) await site.start(h, own[h.name]);
      if (count > 1)
        await site.allSee(
          agents.map((h) => `${h.name}/${h.name}-dev`),
          15_000,
          'the site converged before the attack',
        );
      return new AttackSite(bed, root, site, agents, hosts[count], groupPort, keyFile);
    } catch (err) {
      await bed.destroy();
      await rm(root, { recursive: true, force: true });
      throw err;
    }
  }

  /** The agent process on a host (ip netns exec replaces itself with node: the pid is the agent's). */
  pid(host: Host): number {
    const pid = this.site.agents.get(host.name)?.proc.proc.pid;
    if (pid === undefined) throw new Error(`no agent on ${host.name}`);
    return pid;
  }

  /** Whether the agent on a host is still running. */
  running(host: Host): boolean {
    const proc = this.site.agents.get(host.name)?.proc.proc;
    return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  }

  async rssMb(host: Host): Promise<number> {
    const status = await readFile(`/proc/${this.pid(host)}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
  }

  /** The highest RSS of the agent process since it started, as its kernel counted it (VmHWM), in bytes. */
  async rssPeakBytes(host: Host): Promise<number> {
    const status = await readFile(`/proc/${this.pid(host)}/status`, 'utf8');
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  }

  /** Runs a tool of tools.ts inside a host's namespace and returns its JSON result. */
  async tool<T = Record<string, unknown>>(host: Host, name: string, args: Record<string, unknown>): Promise<T> {
    const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, TOOLS, name, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`tool ${name} on ${host.name} exited ${code}: ${err.slice(-500)}`);
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as T;
  }

  /** While `ms` pass: the observer on `host` (latency, peers' states) and the highest RSS of its agent. */
  async watch(host: Host, ms: number): Promise<{ monitor: Monitored; rssMaxMb: number }> {
    let rssMaxMb = 0;
    const state = { sampling: true };
    const sampler = (async () => {
      while (state.sampling) {
        if (this.running(host)) rssMaxMb = Math.max(rssMaxMb, await this.rssMb(host).catch(() => 0));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const monitor = await this.tool<Monitored>(host, 'monitor', { ms, apiPort: API_PORT });
    state.sampling = false;
    await sampler;
    return { monitor, rssMaxMb: Math.round(rssMaxMb * 10) / 10 };
  }

  /**
   * One datagram to the site's group from `host`, with its IPv4 source forged to `source` (a raw socket:
   * sending needs no ARP, so any host of the LAN can claim any address for a datagram).
   */
  async spoof(host: Host, source: { address: string; port: number }, datagram: Uint8Array): Promise<void> {
    const script = resolve('test/helpers/spoof_udp.py');
    const args = [source.address, source.port, GROUP, this.groupPort, Buffer.from(datagram).toString('hex')];
    await promisify(execFile)('ip', ['netns', 'exec', host.ns, '/usr/bin/python3', script, ...args.map(String)], {
      timeout: 5000,
    });
  }

  /** Gives a host `count` more addresses on the LAN (10.77.0.100 up), for attacks from many sources. */
  async addAddresses(host: Host, count: number): Promise<string[]> {
    const added = Array.from({ length: count }, (_, i) => `10.77.0.${100 + i}`);
    for (const address of added) await this.bed.exec(host, 'ip', 'addr', 'add', `${address}/24`, 'dev', host.veth);
    return added;
  }

  /** TCP connections established to a local port of a host, as its kernel sees them (ss). */
  async established(host: Host, port: number): Promise<number> {
    const { stdout } = await this.bed.exec(host, 'ss', '-Htn', 'state', 'established', `( sport = :${port} )`);
    return stdout.split('\n').filter(Boolean).length;
  }

  /** GET on the local API of an agent, from inside its namespace (curl). */
  async api(host: Host, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    const { stdout } = await this.bed.exec(
      host,
      'curl',
      '-sS',
      '--max-time',
      '3',
      '-w',
      '\n%{http_code}',
      ...h,
      `http://127.0.0.1:${API_PORT}${path}`,
    );
    const at = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
  }

  /** A counter of the agent's /metrics, summed over the label sets that match `labels` (a regex). */
  async metric(host: Host, name: string, labels = ''): Promise<number> {
    const { body } = await this.api(host, '/metrics');
    const re = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
    let sum = 0;
    // An unlabelled series has no group 1: its label text is then empty.
    for (const [, set = '', value] of body.matchAll(re)) if (new RegExp(labels).test(set)) sum += Number(value);
    return sum;
  }

  async destroy(): Promise<void> {
    await this.site.stopAll().catch(() => undefined);
    await this.bed.destroy();
    await rm(this.root, { recursive: true, force: true });
  }
}
