import { networkInterfaces } from 'node:os';

/**
 * Which addresses are on this host's link: unicast datagrams and mDNS answers are taken only from them.
 * A module of its own, apart from mDNS, so that an agent with multicast discovery alone does not load the
 * mDNS code and dns-packet at start.
 */

/** Whether `address` is in the IPv4 subnet of `iface`/`netmask` (loopback: all of 127/8). */
export function onLinkOf(iface: string, netmask: string): (address: string) => boolean {
  const n = (a: string) => a.split('.').reduce((v, o) => ((v << 8) | (Number(o) & 255)) >>> 0, 0);
  const mask = n(netmask);
  const net = n(iface) & mask;
  return (address) => /^\d+\.\d+\.\d+\.\d+$/.test(address) && (n(address) & mask) >>> 0 === net >>> 0;
}

/** The netmask of the interface holding `address`; a host route when it is not found. */
export function netmaskOf(address: string): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && a.address === address) return a.netmask;
  return address.startsWith('127.') ? '255.0.0.0' : '255.255.255.255';
}
