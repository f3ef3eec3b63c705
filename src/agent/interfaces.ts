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
