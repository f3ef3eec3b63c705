import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { HttpProblem } from '../http/problem.js';

export const MIN_TOKEN_LENGTH = 16;

/** The token file cannot be read or holds too short a token: the file is at fault (exit 78). */
export class TokenFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenFileError';
  }
}

/** Reads the API bearer token (first line of the file, trimmed). */
export async function loadApiToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TokenFileError(
      `cannot read API token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const token = text.split('\n')[0].trim();
  if (token.length < MIN_TOKEN_LENGTH)
    throw new TokenFileError(
      `API token in ${file} is ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are needed`,
    );
  return token;
}

/** Checks `Authorization: Bearer <token>` in constant time. */
export function bearerAuthorizer(token: string): (req: IncomingMessage) => HttpProblem | undefined {
  const expected = Buffer.from(token);
  return (req) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    const given = Buffer.from(m?.[1] ?? '');
    if (m && given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
    return new HttpProblem(
      401,
      'Unauthorized',
      m ? 'the bearer token is not valid' : 'this API needs a bearer token (Authorization: Bearer <token>)',
      'unauthorized',
      {
        'www-authenticate': 'Bearer realm="herald"',
      },
    );
  };
}
