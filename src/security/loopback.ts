import { lookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpProblem } from '../http/problem.js';

/** Whether an IP address (not a name) is a loopback address: 127.0.0.0/8, ::1, or 127/8 mapped in IPv6. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return isIP(address) === 6 && /^(?:0{0,4}:){2,7}0{0,3}1$|^::1$/.test(address);
}

/**
 * Whether a datagram's source address is loopback. The kernel gives it as an IP literal in its canonical
 * form, so the prefix says it all; isLoopbackAddress must also judge text a user wrote, and its two
 * isIP parses were 3 % of an idle agent's CPU at 1,000 agents (every datagram is checked).
 */
export function isLoopbackSource(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/**
 * The address `--api` binds, resolved once, the way listen() would (the first address of the lookup),
 * and then bound by that address: whether the API is loopback-only is judged by it, never by the
 * text. `127.example` can resolve to a LAN address; judged by its text it served the LAN without a token.
 */
export async function resolveBindAddress(host: string): Promise<{ address: string; loopback: boolean }> {
  const address = isIP(host) ? host : (await lookup(host)).address;
  return { address, loopback: isLoopbackAddress(address) };
}

/** Host header values a loopback API answers: loopback names and addresses, with any port. */
const LOOPBACK_HOST = /^(?:localhost|[a-z0-9-]+\.localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

/** Whether a Host header names this host by a loopback name or address (any port). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOST.test(host);
}

/**
 * Defeats DNS rebinding: a web page whose name is made to resolve to 127.0.0.1 reaches a loopback API
 * from the browser, but its requests carry the page's name in `Host`. A loopback API without a token
 * answers only requests whose Host is a loopback name or address (or absent: HTTP/1.0 tools).
 */
export function loopbackHostAuthorizer(): (req: IncomingMessage) => HttpProblem | undefined {
  return (req) => {
    const host = req.headers.host;
    if (host === undefined || isLoopbackHost(host)) return undefined;
    return new HttpProblem(
      403,
      'Forbidden',
      `Host '${host.slice(0, 64)}' is not a loopback name: this API answers local programs only ` +
        '(set --api-token-file to serve others)',
      'host-not-allowed',
    );
  };
}
