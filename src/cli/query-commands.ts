import { request } from 'undici';
import type { DeviceRecord } from '../directory/records.js';
import { EXIT } from '../config/options.js';
import { answerError, apiClientFrom } from './api-client.js';
import { CliError } from './cli-error.js';

type Values = Record<string, unknown>;

/** Lists the devices a running agent knows, from every alive agent of the site. */
export async function runLsCommand(values: Values): Promise<number> {
  const client = await apiClientFrom(values);
  const q = new URLSearchParams();
  for (const key of ['agent', 'capability', 'kind', 'tag', 'name', 'site'] as const)
    if (typeof values[key] === 'string') q.set(key, values[key]);
  if (values.includeLost) q.set('include', 'lost');
  const { status, body } = await client.get(`/v1/devices${q.size ? `?${q.toString()}` : ''}`);
  if (status !== 200) throw answerError(status, body, values);
  const devices = (body as { devices: DeviceRecord[] }).devices;
  if (values.json) {
    process.stdout.write(JSON.stringify(body, null, 2) + '\n');
    return EXIT.ok;
  }
  if (devices.length === 0) {
    process.stdout.write('no devices match\n');
    return EXIT.ok;
  }
  const rows = devices.map((d) => [
    `${d.agent}/${d.id}`,
    d.name,
    d.capabilities
      .map((c) => c.type ?? c.id)
      .filter((v, i, a) => a.indexOf(v) === i)
      .join(','),
    d.names.join(','),
  ]);
  printTable(['DEVICE', 'NAME', 'CAPABILITIES', 'NAMES'], rows);
  return EXIT.ok;
}

/** Prints one device as JSON. */
export async function runGetCommand(target: string, values: Values): Promise<number> {
  const m = /^([^/]+)\/([^/]+)$/.exec(target);
  if (!m) throw new CliError('expected AGENT/DEVICE, e.g. herald get pi-greenhouse/greenhouse-climate', EXIT.usage);
  const client = await apiClientFrom(values);
  const { status, body } = await client.get(`/v1/devices/${encodeURIComponent(m[1])}/${encodeURIComponent(m[2])}`);
  if (status !== 200) throw answerError(status, body, values);
  process.stdout.write(JSON.stringify(body, null, 2) + '\n');
  return EXIT.ok;
}

/**
 * Follows the directory's changes (GET /v1/events), one line each. A lost connection is retried,
 * resuming where it left off; an agent that is not there at the start is an error (a typo in --api
 * should not wait forever).
 */
export async function runWatchCommand(values: Values): Promise<number> {
  const client = await apiClientFrom(values);
  const stop = new AbortController();
  const aborted = () => stop.signal.aborted; // read through a call: a signal handler sets it between awaits
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  let lastEventId: string | undefined;
  let warned = false;
  let connected = false;
  while (!aborted()) {
    try {
      const res = await request(`${client.base}/v1/events`, {
        signal: stop.signal,
        headers: {
          accept: 'text/event-stream',
          ...client.headers,
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
        bodyTimeout: 0,
      });
      if (res.statusCode !== 200) throw answerError(res.statusCode, await res.body.json().catch(() => null), values);
      if (warned) process.stderr.write('reconnected\n');
      warned = false;
      connected = true;
      for await (const event of parseSse(res.body)) {
        if (event.id) lastEventId = event.id;
        process.stdout.write(
          (values.json
            ? JSON.stringify({ id: event.id, event: event.event, data: safeJson(event.data) })
            : formatEvent(event.event, event.data)) + '\n',
        );
      }
    } catch (err) {
      if (aborted()) break;
      if (err instanceof CliError) throw err;
      if (!connected) throw client.unreachable(err);
      if (!warned)
        process.stderr.write(
          `lost the agent at ${client.base} (${(err as { code?: string }).code ?? (err as Error).message}); retrying\n`,
        );
      warned = true;
    }
    if (!aborted()) await new Promise((r) => setTimeout(r, 1000));
  }
  return EXIT.ok;
}

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A server-sent events parser (the WHATWG format: fields, blank line ends an event). */
export async function* parseSse(body: AsyncIterable<Buffer | string>): AsyncGenerator<SseEvent> {
  let buffer = '';
  let current: { id?: string; event?: string; data: string[] } = { data: [] };
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (current.data.length > 0 || current.event)
          yield { id: current.id, event: current.event ?? 'message', data: current.data.join('\n') };
        current = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') current.id = value;
      else if (field === 'event') current.event = value;
      else if (field === 'data') current.data.push(value);
    }
  }
}

function formatEvent(type: string, data: string): string {
  const time = new Date().toISOString().slice(11, 23);
  const e = safeJson(data) as
    | { agent?: string; id?: string; device?: { id: string; name: string }; info?: { state: string; address?: string } }
    | undefined;
  const what = e?.device
    ? `${e.agent}/${e.device.id}  ${e.device.name}`
    : e?.id
      ? `${e.agent}/${e.id}`
      : e?.info
        ? `${e.agent}  ${e.info.address ?? ''}`
        : data;
  return `${time}  ${type.padEnd(15)} ${what}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows])
    process.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n');
}
