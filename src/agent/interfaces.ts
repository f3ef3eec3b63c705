import { networkInterfaces } from 'node:os';
import { OptionError } from '../config/options.js';

export interface ResolvedInterface {
  name: string;
  address: string;
}

/** Finds the IPv4 address of an interface given by name (`eth1`) or by one of its addresses. */
export function resolveInterface(spec: string, interfaces = networkInterfaces()): ResolvedInterface {
  for (const [name, addrs] of Object.entries(interfaces)) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      if (name === spec || a.address === spec) return { name, address: a.address };
    }
  }
  const known = Object.entries(interfaces)
    .map(
      ([name, addrs]) =>
        `${name} (${
          (addrs ?? [])
            .filter((a) => a.family === 'IPv4')
            .map((a) => a.address)
            .join(', ') || 'no IPv4'
        })`,
    )
    .join(', ');
  throw new OptionError(`no interface '${spec}' with an IPv4 address; this host has: ${known}`);
}

/**
 * Like resolveInterface, but an interface that exists without an IPv4 address yet (DHCP at boot) is
 * waited for, logging once; a name that does not exist at all is still an error at once.
 */
export async function awaitInterface(
  spec: string,
  opts: {
    onWait: (detail: string) => void;
    intervalMs?: number;
    timeoutMs?: number;
    interfaces?: () => ReturnType<typeof networkInterfaces>;
  },
): Promise<ResolvedInterface> {
  const list = opts.interfaces ?? networkInterfaces;
  const deadline = Date.now() + (opts.timeoutMs ?? Infinity);
  let waiting = false;
  for (;;) {
    const current = list();
    try {
      return resolveInterface(spec, current);
    } catch (err) {
      if (!(spec in current) || Date.now() > deadline) throw err;
      if (!waiting) opts.onWait(`interface '${spec}' has no IPv4 address yet; waiting for it`);
      waiting = true;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    }
  }
}

/**
 * Follows the IPv4 address of an interface given by name: a DHCP lease that moves the host to another
 * address calls `onChange` once the new address is there (not while the interface has none). An
 * interface given by its address is pinned by the user and not followed.
 */
export function followInterfaceAddress(
  spec: string,
  current: string,
  opts: {
    onChange: (next: ResolvedInterface) => void;
    intervalMs?: number;
    interfaces?: () => ReturnType<typeof networkInterfaces>;
  },
): { stop(): void; moved(to: string): void } {
  const list = opts.interfaces ?? networkInterfaces;
  let address = current;
  const pinned = /^\d{1,3}(\.\d{1,3}){3}$/.test(spec);
  const timer = pinned
    ? undefined
    : setInterval(() => {
        const now = list();
        // The address in use may still be on the interface next to a new one: it is kept while it is there.
        if ((now[spec] ?? []).some((a) => a.family === 'IPv4' && a.address === address)) return;
        let next: ResolvedInterface;
        try {
          next = resolveInterface(spec, now);
        } catch {
          return; // no address at the moment: the lease is being renewed, or the link is down
        }
        opts.onChange(next);
      }, opts.intervalMs ?? 5000);
  timer?.unref();
  return {
    stop: () => clearInterval(timer),
    moved: (to: string) => {
      address = to;
    },
  };
}
