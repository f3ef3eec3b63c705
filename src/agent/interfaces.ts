import { networkInterfaces } from 'node:os';

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
    .map(([name, addrs]) => `${name} (${(addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address).join(', ') || 'no IPv4'})`)
    .join(', ');
  throw new Error(`no interface '${spec}' with an IPv4 address; this host has: ${known}`);
}

/**
 * Like resolveInterface, but an interface that exists without an IPv4 address yet (DHCP at boot) is
 * waited for, logging once; a name that does not exist at all is still an error at once.
 */
export async function awaitInterface(
  spec: string,
  opts: { onWait: (detail: string) => void; intervalMs?: number; timeoutMs?: number; interfaces?: () => ReturnType<typeof networkInterfaces> },
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
