import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { EXIT } from '../config/options.js';
import { answerError, apiClientFrom, type ApiClient } from './api-client.js';
import { CliError } from './cli-error.js';

type Values = Record<string, unknown>;

interface VersionAnswer {
  version: number | null;
  added: string[];
  updated: string[];
  removed: string[];
}

/** A write to the agent's local API; an answer other than 200 is the CliError that says why. */
async function send(client: ApiClient, method: 'PUT' | 'DELETE', path: string, body: unknown, values: Values) {
  const { status, body: answer } = await client.call(path, {
    method,
    signal: AbortSignal.timeout(10_000),
    headers: { ...client.headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (status !== 200) {
    const fields = (answer as { errors?: { field: string; message: string }[] } | null)?.errors;
    if (fields && fields.length > 0)
      throw new CliError(fields.map((e) => `${e.field}: ${e.message}`).join('\n'), EXIT.failure);
    throw answerError(status, answer, values);
  }
  return answer;
}

function versionLine(verb: string, ids: string[], answer: VersionAnswer): string {
  const what = ids.length === 1 ? ids[0] : `${ids.length} devices`;
  return answer.version === null ? `${what}: unchanged\n` : `${verb} ${what} (version ${answer.version})\n`;
}

/** herald register FILE|- : one device, or a list of them, in the profile format (YAML or JSON). */
export async function runRegisterCommand(file: string, values: Values): Promise<number> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.failure);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new CliError(`${file}: not YAML or JSON: ${(err as Error).message.split('\n')[0]}`, EXIT.failure);
  }
  // The API takes a number as seconds; a flag's value is always text, and '30' is no duration string.
  const ttl = typeof values.ttl === 'string' && /^\d+(?:\.\d+)?$/.test(values.ttl) ? Number(values.ttl) : values.ttl;
  const extra = { ...(ttl ? { ttl } : {}), ...(values.persist ? { persist: true } : {}) };
  const client = await apiClientFrom(values);
  const list = Array.isArray(doc) ? doc : undefined;
  if (list) {
    const devices = list.map((d) => ({ ...(d as object), ...extra }));
    const answer = (await send(client, 'PUT', '/v1/local/devices', { devices }, values)) as VersionAnswer;
    process.stdout.write(versionLine('registered', [...answer.added, ...answer.updated], answer));
    return EXIT.ok;
  }
  const id = (doc as { id?: unknown } | null)?.id;
  if (typeof id !== 'string') throw new CliError(`${file}: the device needs an id`, EXIT.failure);
  const answer = (await send(
    client,
    'PUT',
    `/v1/local/devices/${encodeURIComponent(id)}`,
    { ...(doc as object), ...extra },
    values,
  )) as VersionAnswer;
  process.stdout.write(versionLine('registered', [id], answer));
  return EXIT.ok;
}

export async function runWithdrawCommand(ids: string[], values: Values): Promise<number> {
  const client = await apiClientFrom(values);
  const answer = (
    ids.length === 1
      ? await send(client, 'DELETE', `/v1/local/devices/${encodeURIComponent(ids[0])}`, undefined, values)
      : await send(client, 'DELETE', '/v1/local/devices', { ids }, values)
  ) as VersionAnswer;
  process.stdout.write(versionLine('withdrew', ids, answer));
  return EXIT.ok;
}

export async function runRenewCommand(id: string, values: Values): Promise<number> {
  const client = await apiClientFrom(values);
  const path = `/v1/local/devices/${encodeURIComponent(id)}/renew`;
  const answer = (await send(client, 'PUT', path, undefined, values)) as { expiresAt: string };
  process.stdout.write(`renewed ${id} until ${answer.expiresAt}\n`);
  return EXIT.ok;
}

export async function runHealthCommand(id: string, status: string, values: Values): Promise<number> {
  const client = await apiClientFrom(values);
  const body = {
    status,
    ...(values.note ? { note: values.note } : {}),
    ...(values.check ? { check: values.check } : {}),
  };
  const path = `/v1/local/devices/${encodeURIComponent(id)}/health`;
  const answer = (await send(client, 'PUT', path, body, values)) as VersionAnswer;
  process.stdout.write(
    answer.version === null ? `${id}: health unchanged\n` : `${id}: ${status} (version ${answer.version})\n`,
  );
  return EXIT.ok;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
