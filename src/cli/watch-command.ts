import { request } from 'undici';
import { EXIT } from '../config/options.js';
import { answerError, apiClientFrom, type ApiClient } from './api-client.js';
import { CliError } from './cli-error.js';
import { parseSse, type SseEvent } from './sse-parser.js';

type Values = Record<string, unknown>;

interface Follow {
  lastEventId?: string;
  connected: boolean;
  warned: boolean;
}

/**
 * Follows the directory's changes (GET /v1/events), one line each. A lost connection is retried,
 * resuming where it left off; a `reset` (the agent restarted, or more changed than it keeps) is answered
 * by fetching the device list again, so the view stays whole. An agent that is not there at the start
 * is an error: a typo in --api should not wait forever.
 */
export async function runWatchCommand(values: Values): Promise<number> {
  const client = await apiClientFrom(values);
  const stop = new AbortController();
  const aborted = () => stop.signal.aborted; // read through a call: a signal handler sets it between awaits
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const state: Follow = { connected: false, warned: false, lastEventId: values.index as string | undefined };
  while (!aborted()) {
    try {
      await follow(client, values, state, stop.signal);
    } catch (err) {
      if (aborted()) break;
      if (err instanceof CliError) throw err;
      if (!state.connected) throw client.unreachable(err);
      const code = (err as { code?: string }).code ?? String(err);
      if (!state.warned) process.stderr.write(`lost the agent at ${client.base} (${code}); retrying\n`);
      state.warned = true;
    }
    if (!aborted()) await new Promise((r) => setTimeout(r, 1000));
  }
  return EXIT.ok;
}

/** The filter flags as a query string (with its `?`), the same for the events and the list a resync reads. */
function filterQuery(values: Values): string {
  const q = new URLSearchParams();
  for (const key of ['agent', 'capability', 'kind', 'tag', 'site'] as const)
    if (typeof values[key] === 'string') q.set(key, values[key]);
  return q.size ? `?${q.toString()}` : '';
}

async function follow(client: ApiClient, values: Values, state: Follow, signal: AbortSignal): Promise<void> {
  const res = await request(`${client.base}/v1/events${filterQuery(values)}`, {
    signal,
    headers: {
      accept: 'text/event-stream',
      ...client.headers,
      ...(state.lastEventId ? { 'last-event-id': state.lastEventId } : {}),
    },
    bodyTimeout: 0,
  });
  if (res.statusCode !== 200) throw answerError(res.statusCode, await res.body.json().catch(() => null), values);
  if (state.warned) process.stderr.write('reconnected\n');
  state.warned = false;
  state.connected = true;
  for await (const event of parseSse(res.body)) {
    if (event.id) state.lastEventId = event.id;
    if (event.event === 'reset') await resync(client, values);
    else process.stdout.write(formatEvent(event, values.json === true) + '\n');
  }
}

/** After a reset the events in between are gone: the list now is the truth, then events go on. */
async function resync(client: ApiClient, values: Values): Promise<void> {
  const { status, body } = await client.get(`/v1/devices${filterQuery(values)}`);
  if (status !== 200) throw answerError(status, body, values);
  if (values.json === true) {
    process.stdout.write(JSON.stringify({ event: 'resync', data: body }) + '\n');
    return;
  }
  const devices = (body as { devices: { agent: string }[] }).devices;
  const agents = new Set(devices.map((d) => d.agent)).size;
  const why = 'the agent restarted, or more changed than it keeps';
  process.stdout.write(`${clock()}  ${'resync'.padEnd(15)} ${devices.length} devices of ${agents} agents (${why})\n`);
}

interface EventData {
  agent?: string;
  id?: string;
  device?: { id: string; name: string };
  info?: { state: string; address?: string };
  errors?: { file: string; line?: number; field?: string; message: string }[];
  serving?: number;
}

function formatEvent(event: SseEvent, json: boolean): string {
  const data = safeJson(event.data);
  if (json) return JSON.stringify({ id: event.id, event: event.event, data });
  const e = (typeof data === 'object' ? data : undefined) as EventData | undefined;
  return `${clock()}  ${event.event.padEnd(15)} ${describe(e) ?? event.data}`;
}

function describe(e: EventData | undefined): string | undefined {
  if (!e) return undefined;
  if (e.device) return `${e.agent ?? ''}/${e.device.id}  ${e.device.name}`;
  if (e.id) return `${e.agent ?? ''}/${e.id}`;
  if (e.info) return `${e.agent ?? ''}  ${e.info.address ?? ''}`;
  if (e.errors) {
    const first = e.errors[0] as (typeof e.errors)[number] | undefined;
    const where = first ? `${first.file}${first.line !== undefined ? `:${first.line}` : ''}` : '';
    const what = first ? `: ${where}: ${first.field ? `${first.field}: ` : ''}${first.message}` : '';
    return `${e.agent ?? ''}  ${e.errors.length} error(s), serving ${e.serving ?? 0} devices${what}`;
  }
  return undefined;
}

function clock(): string {
  return new Date().toISOString().slice(11, 23);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
