import { request } from 'undici';
import { OptionError } from '../config/options.js';

/** Talks to a running agent's local API, for ls, get and watch. */
export class ApiClient {
  readonly base: string;

  constructor(api: string) {
    const m = /^(?:https?:\/\/)?([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(api);
    if (!m) throw new OptionError(`--api: expected HOST:PORT, got '${api}'`);
    this.base = `http://${m[1]}:${m[2]}`;
  }

  async get(path: string): Promise<{ status: number; body: unknown }> {
    let res;
    try {
      res = await request(this.base + path, { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      throw new Error(`cannot reach the agent at ${this.base}: ${(err as { code?: string }).code ?? (err as Error).message} (is it running? see --api)`);
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

/** The detail of a problem+json answer, or the status. */
export function problemText(status: number, body: unknown): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  return typeof detail === 'string' ? detail : `HTTP ${status}`;
}
