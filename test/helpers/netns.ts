import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
  readonly id = Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0');
  readonly bridge = `hb${this.id}`;
  readonly hosts: Host[] = [];

  async create(count: number): Promise<Host[]> {
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
    await this.exec(host, 'nft', `add rule inet herald_loss in udp dport ${port} numgen random mod 100 < ${percent} drop`);
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

  async get(host: Host, path: string, port = 7755): Promise<any> {
    const { stdout } = await this.exec(host, 'curl', '-sS', '--max-time', '2', `http://127.0.0.1:${port}${path}`);
    return JSON.parse(stdout);
  }

  async destroy(): Promise<void> {
    for (const host of this.hosts) {
      await sh('ip', 'netns', 'del', host.ns).catch(() => {});
      await sh('ip', 'link', 'del', `${host.veth}b`).catch(() => {});
    }
    await sh('ip', 'link', 'del', this.bridge).catch(() => {});
  }
}

async function sh(cmd: string, ...args: string[]): Promise<{ stdout: string }> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 10_000 });
    return { stdout };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}
