import type { IncomingMessage } from 'node:http';
import { HttpProblem } from '../http/problem.js';
import { isLoopbackAddress, isLoopbackHost } from '../security/loopback.js';

/** How a request reached the API: the TCP listener or the unix socket (whose file mode decides access). */
export type ApiVia = 'tcp' | 'socket';

/**
 * Who may change this host's devices. Over the unix socket, whoever the file mode lets in. Over TCP
 * with a token configured, the token holder (checked before any route). Otherwise only a local
 * program: a loopback peer address and a loopback `Host`, which a web page reaching the API through
 * DNS rebinding cannot send.
 */
export function writeDenied(req: IncomingMessage, via: ApiVia, tokenConfigured: boolean): HttpProblem | undefined {
  if (via === 'socket' || tokenConfigured) return undefined;
  const peer = req.socket.remoteAddress ?? '';
  if (!isLoopbackAddress(peer))
    return new HttpProblem(
      403,
      'Forbidden',
      'registration is accepted only from this host (loopback) unless an API token is configured; ' +
        `the request came from ${peer}`,
      'write-forbidden',
    );
  // A page in a browser on this host reaches the loopback API with a loopback Host, and may POST (renew,
  // health) without a CORS preflight; browsers always name the page's Origin on such a write, local
  // programs never do, and the API serves no pages of its own.
  const origin = req.headers.origin;
  if (origin !== undefined)
    return new HttpProblem(
      403,
      'Forbidden',
      `registration is not accepted from a web page (Origin '${origin.slice(0, 64)}'); a local program sends no Origin`,
      'write-forbidden',
    );
  // Reads may omit Host (HTTP/1.0 tools); a write must name this host by a loopback name.
  const host = req.headers.host;
  if (host === undefined || !isLoopbackHost(host))
    return new HttpProblem(
      403,
      'Forbidden',
      'registration needs a loopback Host header (127.0.0.1, localhost or [::1]); ' +
        `got '${(req.headers.host ?? '').slice(0, 64)}'`,
      'write-forbidden',
    );
  return undefined;
}
