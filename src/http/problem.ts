import type { ServerResponse } from 'node:http';

/** An HTTP error a client can act on: RFC 7807 problem details with a stable `type` slug. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export function sendProblem(res: ServerResponse, problem: HttpProblem, instance?: string): void {
  const body = JSON.stringify({
    type: `https://herald.dev/problems/${problem.slug}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...(instance ? { instance } : {}),
  });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(problem.status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...problem.headers,
  });
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Parses a query string against the parameters a route knows; anything else is a 400 naming it. */
export function readQuery(url: { searchParams: URLSearchParams }, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (!allowed.includes(key)) {
      throw new HttpProblem(
        400,
        'Bad request',
        `unknown query parameter '${key}'${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`,
        'unknown-parameter',
      );
    }
    if (key in out)
      throw new HttpProblem(400, 'Bad request', `query parameter '${key}' given more than once`, 'repeated-parameter');
    if (value.length > 256)
      throw new HttpProblem(
        400,
        'Bad request',
        `query parameter '${key}' is longer than 256 characters`,
        'parameter-too-long',
      );
    out[key] = value;
  }
  return out;
}

/** Decodes one path segment; a malformed escape is the client's error, not a crash. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpProblem(
      400,
      'Bad request',
      `malformed percent-encoding in path segment '${segment.slice(0, 64)}'`,
      'bad-path',
    );
  }
}
