import type { IncomingMessage } from 'node:http';
import { HttpProblem } from '../http/problem.js';
import { parseDuration } from '../profiles/checks.js';
import { DEVICE_ID_PATTERN } from '../profiles/model.js';
import { formatPath, isObject, validateDevice, type FieldError } from '../profiles/validate.js';
import type { RegistrationInput } from './host-devices.js';

/** A registration request is a few hundred devices at most; anything larger is refused unread. */
export const MAX_BODY_BYTES = 512 * 1024;
export const TTL_BOUNDS_MS = { min: 500, max: 24 * 3600_000 } as const;

/** A 422 that lists every field error with its path, as `herald check` does for files. */
export class FieldProblem extends HttpProblem {
  constructor(readonly errors: { field: string; message: string }[]) {
    super(
      422,
      'Invalid device',
      errors
        .slice(0, 5)
        .map((e) => `${e.field}: ${e.message}`)
        .join('; ') + (errors.length > 5 ? `; and ${errors.length - 5} more` : ''),
      'invalid-device',
    );
  }
}

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpProblem || (err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
    // The client left before its body ended: its fault, counted; it was an error line with a stack (attack16).
    throw new HttpProblem(400, 'Bad request', 'the connection closed before the body ended', 'body-aborted');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpProblem(400, 'Bad request', 'the request needs a JSON body', 'no-body');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpProblem(400, 'Bad request', 'the body is not valid JSON', 'bad-json');
  }
}

function tooLarge(): HttpProblem {
  return new HttpProblem(
    413,
    'Payload too large',
    `the body is larger than ${MAX_BODY_BYTES} bytes; register fewer devices per request`,
    'body-too-large',
    { connection: 'close' }, // the rest of the body is not read
  );
}

export function checkDeviceId(id: string): string {
  if (!DEVICE_ID_PATTERN.test(id))
    throw new HttpProblem(
      400,
      'Bad request',
      `'${id.slice(0, 80)}' is not a valid device id: lowercase letters, digits, '.', '_' or '-', ` +
        'starting with a letter or digit, at most 63 characters',
      'bad-device-id',
    );
  return id;
}

/**
 * One device of a registration: the profile format plus `ttl` (seconds, or a duration like "30s") and
 * `persist`. `at` prefixes field paths in a list (`devices[3].name`); `pathId` is the id in the URL.
 */
export function parseRegistration(doc: unknown, at: (string | number)[], pathId?: string): RegistrationInput {
  const errors: FieldError[] = [];
  if (!isObject(doc)) throw new FieldProblem([{ field: formatPath(at), message: 'a device must be a JSON object' }]);
  const { ttl, persist, ...document } = doc;
  if (pathId !== undefined) {
    if (document.id === undefined) document.id = pathId;
    else if (document.id !== pathId)
      throw new HttpProblem(
        400,
        'Bad request',
        `the body's id ${JSON.stringify(document.id).slice(0, 80)} differs from the id in the path '${pathId}'`,
        'id-mismatch',
      );
  }
  let ttlMs: number | undefined;
  if (ttl !== undefined) {
    ttlMs = parseDuration(ttl);
    if (ttlMs === undefined || ttlMs < TTL_BOUNDS_MS.min || ttlMs > TTL_BOUNDS_MS.max) {
      errors.push({ path: [...at, 'ttl'], message: 'must be from 0.5 to 86400 seconds (a number, or "30s", "500ms")' });
    }
  }
  if (persist !== undefined && typeof persist !== 'boolean')
    errors.push({ path: [...at, 'persist'], message: 'must be true or false' });
  const v = validateDevice(document, { from: 'profile' });
  if (!v.ok) errors.push(...v.errors.map((e) => ({ path: [...at, ...e.path], message: e.message })));
  if (errors.length > 0 || !v.ok)
    throw new FieldProblem(errors.map((e) => ({ field: formatPath(e.path), message: e.message })));
  return { device: v.device, document, ttlMs, persist: persist === true };
}

/** `PUT /v1/local/devices`: `{"devices": [...]}` or a bare list. */
export function parseRegistrationList(body: unknown): RegistrationInput[] {
  const list = Array.isArray(body) ? body : isObject(body) ? body.devices : undefined;
  if (!Array.isArray(list))
    throw new FieldProblem([{ field: 'devices', message: 'expected {"devices": [device, ...]} or a list of devices' }]);
  const errors: { field: string; message: string }[] = [];
  const out: RegistrationInput[] = [];
  list.forEach((doc, i) => {
    try {
      out.push(parseRegistration(doc, Array.isArray(body) ? [i] : ['devices', i]));
    } catch (err) {
      if (err instanceof FieldProblem) errors.push(...err.errors);
      else throw err;
    }
  });
  if (errors.length > 0) throw new FieldProblem(errors);
  return out;
}
