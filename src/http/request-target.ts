/**
 * The request target of an HTTP request, parsed without `new URL` on what a client sent: origin-form
 * only (`/path?query`), as both servers answer nothing else. `new URL` resolved `//a:99999/` as a host
 * and port and threw on it, and on absolute forms such as `http://[`; that was a crash on one request.
 */
export interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

/** Longer targets are refused before any parsing: no route or query of either server comes near. */
export const MAX_TARGET_LENGTH = 2048;

export type TargetFault = 'too-long' | 'not-origin-form' | 'bad-character' | 'bad-percent-encoding';

export class RequestTargetError extends Error {
  constructor(
    readonly reason: TargetFault,
    message: string,
  ) {
    super(message);
    this.name = 'RequestTargetError';
  }
}

/** Visible ASCII only (RFC 9112 §3.2 with RFC 3986 characters), and `%` always followed by two hex digits. */
const TARGET_SYNTAX = /^(?:[!$&-;=?-Z_a-z~]|%[0-9A-Fa-f]{2})*$/;

export function parseRequestTarget(raw: string | undefined): RequestTarget {
  const target = raw ?? '/';
  if (target.length > MAX_TARGET_LENGTH)
    throw new RequestTargetError(
      'too-long',
      `request target of ${target.length} characters (at most ${MAX_TARGET_LENGTH})`,
    );
  if (!target.startsWith('/') || target.startsWith('//'))
    throw new RequestTargetError(
      'not-origin-form',
      `request target '${printable(target)}' is not a path (origin-form)`,
    );
  if (!TARGET_SYNTAX.test(target)) {
    const fault = /%(?![0-9A-Fa-f]{2})/.test(target) ? 'bad-percent-encoding' : 'bad-character';
    throw new RequestTargetError(fault, `request target '${printable(target)}' is malformed (${fault})`);
  }
  const q = target.indexOf('?');
  const pathname = q < 0 ? target : target.slice(0, q);
  const searchParams = new URLSearchParams();
  if (q >= 0) {
    for (const pair of target.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      searchParams.append(
        decodeQueryPart(eq < 0 ? pair : pair.slice(0, eq)),
        eq < 0 ? '' : decodeQueryPart(pair.slice(eq + 1)),
      );
    }
  }
  return { pathname, searchParams };
}

/** Strict: an escape that is not UTF-8 is the client's error, where URLSearchParams would guess. */
function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw new RequestTargetError(
      'bad-percent-encoding',
      `query part '${printable(part)}' is not valid UTF-8 once decoded`,
    );
  }
}

/** A bounded, printable excerpt of what the client sent, for the problem's detail and the log. */
function printable(text: string): string {
  return text.slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
}
