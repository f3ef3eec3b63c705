import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { OptionError } from '../config/options.js';

/** Talks to a running agent's local API, for ls, get and watch. */
export class ApiClient {
  readonly base: string;
  readonly headers: Record<string, string>;

  constructor(api: string, token?: string) {
    this.headers = token ? { authorization: `Bearer ${token}` } : {};
    const m = /^(?:https?:\/\/)?([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(api);
    if (!m) throw new OptionError(`--api: expected HOST:PORT, got '${api}'`);
    this.base = `http://${m[1]}:${m[2]}`;
  }

  async get(path: string): Promise<{ status: number; body: unknown }> {
    let res;
    try {
      res = await request(this.base + path, { signal: AbortSignal.timeout(5000), headers: this.headers });
    } catch (err) {
      throw new Error(
        `cannot reach the agent at ${this.base}: ${(err as { code?: string }).code ?? (err as Error).message} (is it running? see --api)`,
      );
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
}

/** The API token for ls, get and watch: --token-file, else HERALD_API_TOKEN_FILE. */
export async function apiClientFrom(values: Record<string, string | boolean | undefined>): Promise<ApiClient> {
  const api = (values.api as string | undefined) ?? process.env.HERALD_API ?? '127.0.0.1:7755';
  const file = (values['token-file'] as string | undefined) ?? process.env.HERALD_API_TOKEN_FILE;
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
