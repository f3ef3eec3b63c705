import { execFile, execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runHerald, type Running } from './process.js';
import { hasCommand, isRoot, missingRequirement } from './requirements.js';

const run = promisify(execFile);

/** What the namespace tests need; undefined when all is there. */
export function netnsMissing(): string | undefined {
  return missingRequirement([
    { what: 'root (network namespaces)', ok: isRoot },
    { what: 'the ip command (Debian package iproute2)', ok: () => hasCommand('ip') },
    { what: 'the nft command (Debian package nftables)', ok: () => hasCommand('nft') },
    { what: 'curl', ok: () => hasCommand('curl') },
  ]);
}

export interface Host {
  name: string;
  ns: string;
  veth: string;
  address: string;
}

/**
 * Hosts in network namespaces on one bridge: a LAN on this machine, 10.77.0.0/24 inside the namespaces
 * only, nothing on eth0. Names carry a per-run id so that concurrent runs never collide, and destroy()
 * removes everything it made, also after a failure.
 */
export class Testbed {
  readonly id = Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, '0');
  readonly bridge = `hb${this.id}`;
  readonly hosts: Host[] = [];

  /**
   * A run stopped by a signal (`timeout`, Ctrl-C) skips the tests' cleanup hooks: four namespaces and a bridge
   * outlived one such run by hours. So the bed and its agents are also removed, synchronously, at exit.
   */
  private readonly removeAtExit = () => {
    for (const h of this.hosts) {
      try {
        // Its agents would outlive it, orphaned: they are SIGKILLed with their namespace.
        execFileSync('ip', ['netns', 'pids', h.ns], { encoding: 'utf8' })
          .split(/\s+/)
          .filter(Boolean)
          .forEach((pid) => process.kill(Number(pid), 'SIGKILL'));
      } catch {
        // already gone
      }
    }
    const links = this.hosts.flatMap((h) => [
      ['netns', 'del', h.ns],
      ['link', 'del', `${h.veth}b`],
    ]);
    for (const args of [...links, ['link', 'del', this.bridge]]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };
  private readonly exitOnSignal = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);

  async create(count: number): Promise<Host[]> {
    process.on('exit', this.removeAtExit);
    // `on`, not `once`: with no listener left, a second signal (a lane runner forwarding its own SIGTERM beside the
    // operator's) killed the process by default inside the removals above, and the bed's last hosts stayed.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, this.exitOnSignal);
    await sh('ip', 'link', 'add', this.bridge, 'type', 'bridge');
    await sh('ip', 'link', 'set', this.bridge, 'up');
    for (let i = 1; i <= count; i++) {
      const host = { name: `h${i}`, ns: `herald-${this.id}-h${i}`, veth: `v${this.id}h${i}`, address: `10.77.0.${i}` };
      this.hosts.push(host);
      await sh('ip', 'netns', 'add', host.ns);
      await this.exec(host, 'ip', 'link', 'set', 'lo', 'up');
      await sh('ip', 'link', 'add', host.veth, 'type', 'veth', 'peer', 'name', `${host.veth}b`);
      await sh('ip', 'link', 'set', host.veth, 'netns', host.ns);
      await sh('ip', 'link', 'set', `${host.veth}b`, 'master', this.bridge);
      await sh('ip', 'link', 'set', `${host.veth}b`, 'up');
      await this.exec(host, 'ip', 'addr', 'add', `${host.address}/24`, 'dev', host.veth);
      await this.exec(host, 'ip', 'link', 'set', host.veth, 'up');
      await this.exec(host, 'ip', 'route', 'add', '224.0.0.0/4', 'dev', host.veth);
    }
    return this.hosts;
  }

  exec(host: Host, ...args: string[]): Promise<{ stdout: string }> {
    return sh('ip', 'netns', 'exec', host.ns, ...args);
  }

  /** The prefix that runs a command inside a host. */
  prefix(host: Host): string[] {
    return ['ip', 'netns', 'exec', host.ns];
  }

  /** Drops `percent` of the UDP datagrams arriving at this host on `port`, in the kernel. */
  async dropIncoming(host: Host, port: number, percent: number): Promise<void> {
    await this.exec(host, 'nft', 'add', 'table', 'inet', 'herald_loss');
    await this.exec(host, 'nft', 'add chain inet herald_loss in { type filter hook input priority 0; }');
    await this.exec(
      host,
      'nft',
      `add rule inet herald_loss in udp dport ${port} numgen random mod 100 < ${percent} drop`,
    );
  }

  /** A process's open UDP sockets: what the mDNS-only test checks for the absence of Herald's port. */
  async udpPorts(host: Host): Promise<string> {
    return (await this.exec(host, 'ss', '-uan')).stdout;
  }

  /** Cuts a host off the LAN (all traffic on its LAN interface, both ways). */
  async isolate(host: Host): Promise<void> {
    await this.exec(host, 'nft', 'add', 'table', 'inet', 'herald_cut');
    await this.exec(host, 'nft', 'add chain inet herald_cut in { type filter hook input priority -1; }');
    await this.exec(host, 'nft', 'add chain inet herald_cut out { type filter hook output priority -1; }');
    await this.exec(host, 'nft', `add rule inet herald_cut in iifname "${host.veth}" drop`);
    await this.exec(host, 'nft', `add rule inet herald_cut out oifname "${host.veth}" drop`);
  }

  async heal(host: Host): Promise<void> {
    await this.exec(host, 'nft', 'delete', 'table', 'inet', 'herald_cut');
  }

  async get(host: Host, path: string, port = 7755): Promise<Record<string, unknown>> {
    const { stdout } = await this.exec(host, 'curl', '-sS', '--max-time', '2', `http://127.0.0.1:${port}${path}`);
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  async destroy(): Promise<void> {
    for (const host of this.hosts) {
      await sh('ip', 'netns', 'del', host.ns).catch(() => {});
      await sh('ip', 'link', 'del', `${host.veth}b`).catch(() => {});
    }
    await sh('ip', 'link', 'del', this.bridge).catch(() => {});
    process.off('exit', this.removeAtExit);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, this.exitOnSignal);
  }
}

async function sh(cmd: string, ...args: string[]): Promise<{ stdout: string }> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 10_000 });
    return { stdout };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Agents, one per namespace host, each with its own profiles and state folders under `root`. */
export class NetnsSite {
  readonly agents = new Map<string, { host: Host; proc: Running; profiles: string }>();

  constructor(
    readonly bed: Testbed,
    readonly root: string,
    private readonly extraArgs: string[] = [],
    /** Node flags for each agent (the unit's, in the attack tests). */
    private readonly nodeFlags: string[] = [],
  ) {}

  async writeDevice(host: Host, id: string): Promise<void> {
    const profiles = join(this.root, host.name, 'profiles');
    await mkdir(profiles, { recursive: true });
    await writeFile(
      join(profiles, `${id}.yaml`),
      `id: ${id}\nname: Device ${id}\ncapabilities:\n  - id: value\n    kind: property\n    type: temperature\n    endpoint: http://{address}:8080/${id}\n`,
    );
  }

  async removeDevice(host: Host, id: string): Promise<void> {
    await rm(join(this.root, host.name, 'profiles', `${id}.yaml`));
  }

  /**
   * `extra`: arguments for this host alone, after the site's. `timeoutMs` for its 'agent started': a test
   * starting dozens at once on a shared machine gives more.
   */
  async start(host: Host, extra: string[] = [], timeoutMs = 10_000): Promise<void> {
    const profiles = join(this.root, host.name, 'profiles');
    await mkdir(profiles, { recursive: true });
    const proc = runHerald(
      [
        'agent',
        '--name',
        host.name,
        '--site',
        'netns',
        '--interface',
        host.veth,
        '--profiles',
        profiles,
        '--state-dir',
        join(this.root, host.name, 'state'),
        '--log-format',
        'json',
        ...this.extraArgs,
        ...extra,
      ],
      { prefix: this.bed.prefix(host), nodeFlags: this.nodeFlags },
    );
    // Known before it is up, so that stopAll() also ends an agent whose start failed.
    this.agents.set(host.name, { host, proc, profiles });
    await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), timeoutMs, `${host.name} started`);
  }

  alive(): Host[] {
    return [...this.agents.values()]
      .filter((a) => a.proc.proc.exitCode === null && a.proc.proc.signalCode === null)
      .map((a) => a.host);
  }

  async keys(host: Host): Promise<string[]> {
    return ((await this.bed.get(host, '/v1/devices')).devices as { agent: string; id: string }[]).map(
      (d) => `${d.agent}/${d.id}`,
    );
  }

  async stateOf(viewer: Host, agent: string): Promise<string | undefined> {
    return ((await this.bed.get(viewer, '/v1/agents')).agents as { name: string; state: string }[]).find(
      (a) => a.name === agent,
    )?.state;
  }

  async allSee(expected: string[], timeoutMs: number, what: string): Promise<number> {
    const want = [...expected].sort().join();
    return eventually(
      what,
      async () => {
        for (const h of this.alive()) if ((await this.keys(h)).sort().join() !== want) return false;
        return true;
      },
      timeoutMs,
    );
  }

  async allAgree(agent: string, state: string, timeoutMs: number): Promise<number> {
    return eventually(
      `${agent} ${state} everywhere`,
      async () => {
        for (const h of this.alive()) if (h.name !== agent && (await this.stateOf(h, agent)) !== state) return false;
        return true;
      },
      timeoutMs,
    );
  }

  async stopAll(): Promise<void> {
    for (const a of this.agents.values()) await a.proc.stop('SIGKILL');
  }
}

export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await check()) return Date.now() - t0;
    } catch {
      // an agent that is restarting does not answer yet
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
