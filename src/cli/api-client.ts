import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { EXIT, OptionError } from '../config/options.js';
import { CliError } from './cli-error.js';

/** Talks to a running agent's local API, for ls, get and watch. */
export class ApiClient {
  readonly base: string;
  readonly headers: Record<string, string>;

  constructor(api: string, token?: string) {
    this.headers = token ? { authorization: `Bearer ${token}` } : {};
    const m = /^(?:https?:\/\/)?([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(api);
    if (!m) throw new OptionError(`--api: expected HOST:PORT, got '${api}'`);
    const port = Number(m[2]);
    if (port < 1 || port > 65535)
      throw new OptionError(`--api: expected HOST:PORT with a port from 1 to 65535, got '${api}'`);
    this.base = `http://${m[1]}:${m[2]}`;
  }

  async get(path: string): Promise<{ status: number; body: unknown }> {
    let res;
    try {
      res = await request(this.base + path, { signal: AbortSignal.timeout(5000), headers: this.headers });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await res.body.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.statusCode, body };
  }

  /** No agent at the address: one line saying so and what to do, exit 69. */
  unreachable(err: unknown): CliError {
    // AbortSignal.timeout's reason: the connection was taken, nothing came back (its code, 23, says nothing).
    if ((err as { name?: string }).name === 'TimeoutError')
      return new CliError(`the agent at ${this.base} did not answer within 5 s: is it stuck?`, EXIT.unavailable);
    const code = (err as { code?: string }).code ?? (err as Error).message;
    return new CliError(
      `no agent answers at ${this.base} (${code}): start one with 'herald agent', or point --api at it`,
      EXIT.unavailable,
    );
  }
}

/** The API token for ls, get and watch: --token-file, else HERALD_API_TOKEN_FILE. */
export async function apiClientFrom(values: Record<string, unknown>): Promise<ApiClient> {
  const api = (values.api as string | undefined) ?? process.env.HERALD_API ?? '127.0.0.1:7755';
  const file = (values.tokenFile as string | undefined) ?? process.env.HERALD_API_TOKEN_FILE;
  if (!file) return new ApiClient(api);
  try {
    return new ApiClient(api, (await readFile(file, 'utf8')).split('\n')[0].trim());
  } catch (err) {
    throw new OptionError(
      `cannot read --token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** The detail of a problem+json answer, or the status. */
export function problemText(status: number, body: unknown): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  return typeof detail === 'string' ? detail : `HTTP ${status}`;
}

/**
 * An answer other than 200 as the error the user can act on: a 401 names the flag that carries the
 * token (the API's own text names an HTTP header, which a command-line user never sets).
 */
export function answerError(status: number, body: unknown, values: Record<string, unknown>): CliError {
  if (status === 401) {
    const file = (values.tokenFile as string | undefined) ?? process.env.HERALD_API_TOKEN_FILE;
    return new CliError(
      file
        ? `the agent refused the token in ${file}: check that it is the agent's --api-token-file`
        : "the agent's API needs a token: pass --token-file FILE (or set HERALD_API_TOKEN_FILE)",
      EXIT.noPermission,
    );
  }
  return new CliError(problemText(status, body), EXIT.failure);
}
