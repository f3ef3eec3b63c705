import { request } from 'undici';
import type { DeviceRecord } from '../directory/records.js';
import { apiClientFrom, problemText } from './api-client.js';
import { parseCommandArgs } from './args.js';

const API_OPTION = { api: { type: 'string' as const }, 'token-file': { type: 'string' as const } };

const LS_HELP = `Usage: herald ls [--agent A] [--capability C] [--kind K] [--tag T] [--name PREFIX] [--site S]
                 [--include-lost] [--json] [--api HOST:PORT]

Lists the devices a running agent knows, from every alive agent of the site.
  --capability C   a capability id or type (e.g. temperature)
  --kind K         property | action | event | stream | service
  --name PREFIX    a global-name prefix (e.g. greenhouse)
  --include-lost   also devices of agents currently lost
  --json           the API's JSON instead of a table
  --api HOST:PORT  the agent's local API (default 127.0.0.1:7755, env HERALD_API)
  --token-file F   the API's bearer token, when it has one (env HERALD_API_TOKEN_FILE)`;

export async function runLsCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('ls', argv, {
    ...API_OPTION,
    agent: { type: 'string' },
    capability: { type: 'string' },
    kind: { type: 'string' },
    tag: { type: 'string' },
    name: { type: 'string' },
    site: { type: 'string' },
    'include-lost': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) return help(LS_HELP);
  const client = await apiClientFrom(values);
  const q = new URLSearchParams();
  for (const key of ['agent', 'capability', 'kind', 'tag', 'name', 'site'] as const)
    if (typeof values[key] === 'string') q.set(key, values[key]);
  if (values['include-lost']) q.set('include', 'lost');
  const { status, body } = await client.get(`/v1/devices${q.size ? `?${q}` : ''}`);
  if (status !== 200) return fail(problemText(status, body));
  const devices = (body as { devices: DeviceRecord[] }).devices;
  if (values.json) {
    process.stdout.write(JSON.stringify(body, null, 2) + '\n');
    return 0;
  }
  if (devices.length === 0) {
    process.stdout.write('no devices match\n');
    return 0;
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
  return 0;
}

const GET_HELP = `Usage: herald get AGENT/DEVICE [--api HOST:PORT]

Prints one device as JSON.`;

export async function runGetCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('get', argv, API_OPTION, 1);
  if (values.help) return help(GET_HELP);
  const target = positionals[0];
  const m = target ? /^([^/]+)\/([^/]+)$/.exec(target) : null;
  if (!m) return fail('get: expected AGENT/DEVICE, e.g. herald get pi-greenhouse/greenhouse-climate', 64);
  const client = await apiClientFrom(values);
  const { status, body } = await client.get(`/v1/devices/${encodeURIComponent(m[1])}/${encodeURIComponent(m[2])}`);
  if (status !== 200) return fail(problemText(status, body));
  process.stdout.write(JSON.stringify(body, null, 2) + '\n');
  return 0;
}

const WATCH_HELP = `Usage: herald watch [--json] [--api HOST:PORT]

Follows the directory's changes (GET /v1/events) and prints one line each; reconnects by itself,
resuming where it left off. Ctrl-C stops.`;

export async function runWatchCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('watch', argv, { ...API_OPTION, json: { type: 'boolean' } });
  if (values.help) return help(WATCH_HELP);
  const client = await apiClientFrom(values);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  let lastEventId: string | undefined;
  let warned = false;
  while (!stop.signal.aborted) {
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
      if (res.statusCode !== 200) return fail(`the agent answered ${res.statusCode} on /v1/events`);
      if (warned) process.stderr.write('reconnected\n');
      warned = false;
      for await (const event of parseSse(res.body)) {
        if (event.id) lastEventId = event.id;
        process.stdout.write(
          (values.json
            ? JSON.stringify({ id: event.id, event: event.event, data: safeJson(event.data) })
            : formatEvent(event.event, event.data)) + '\n',
        );
      }
    } catch (err) {
      if (stop.signal.aborted) break;
      if (!warned)
        process.stderr.write(
          `lost the agent at ${client.base} (${(err as { code?: string }).code ?? (err as Error).message}); retrying\n`,
        );
      warned = true;
    }
    if (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
  }
  return 0;
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

function help(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}

function fail(message: string, code = 1): number {
  process.stderr.write(`herald: ${message}\n`);
  return code;
}
