import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeSegment, HttpProblem, readQuery, sendJson, sendProblem } from '../http/problem.js';
import type { RequestTarget } from '../http/request-target.js';
import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { HealthState } from '../profiles/checks.js';
import { isObject } from '../profiles/validate.js';
import type { Delta } from '../directory/delta.js';
import type { HostDevices } from './host-devices.js';
import { RegistrationError } from './registration-error.js';
import { checkDeviceId, FieldProblem, parseRegistration, parseRegistrationList, readJsonBody } from './request-body.js';
import { writeDenied, type ApiVia } from './write-guard.js';

/** A group of routes that the API server hands whole requests to (the server keeps auth and metrics). */
export interface ApiRoutes {
  readonly name: string;
  matches(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: RequestTarget, via: ApiVia): Promise<void>;
}

const REPORTS: Record<string, HealthState> = { pass: 'passing', warn: 'warning', fail: 'critical' };
const PREFIX = '/v1/local/devices';

/**
 * Registration over the local API: what this host offers, and the writes that change it. Every write is
 * validated whole before anything changes, and answers with the version it made (null: no change).
 */
export class LocalDeviceRoutes implements ApiRoutes {
  readonly name = 'local-devices';

  constructor(private readonly c: { devices: HostDevices; metrics: HeraldMetrics; tokenConfigured: boolean }) {}

  matches(pathname: string): boolean {
    return pathname === PREFIX || pathname.startsWith(PREFIX + '/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: RequestTarget, via: ApiVia): Promise<void> {
    try {
      readQuery(url, []);
      const rest = url.pathname.slice(PREFIX.length).split('/').filter(Boolean).map(decodeSegment);
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') {
        const denied = writeDenied(req, via, this.c.tokenConfigured);
        if (denied) throw denied;
      }
      await this.dispatch(method, rest, req, res);
    } catch (err) {
      const problem =
        err instanceof RegistrationError ? new HttpProblem(err.status, title(err.status), err.message, err.code) : err;
      if (!(problem instanceof HttpProblem)) throw err;
      this.c.metrics.invalidInput.inc({ source: 'registration', reason: problem.slug });
      if (problem instanceof FieldProblem) sendFieldProblem(res, problem, url.pathname);
      else sendProblem(res, problem, url.pathname);
    }
  }

  private async dispatch(method: string, rest: string[], req: IncomingMessage, res: ServerResponse): Promise<void> {
    const d = this.c.devices;
    const id = rest.at(0);
    const action = rest.at(1);
    const noRoute = new HttpProblem(404, 'Not found', `no route ${PREFIX}/${rest.join('/')}`, 'no-route');
    if (rest.length > 2) throw noRoute;
    if (id === undefined) {
      if (method === 'GET' || method === 'HEAD')
        return sendJson(res, 200, { devices: d.list(), count: d.list().length });
      if (method === 'PUT') {
        const body = await readJsonBody(req);
        return this.answer(res, () => d.register(parseRegistrationList(body)));
      }
      if (method === 'DELETE') {
        const body = await readJsonBody(req);
        return this.answer(res, () => d.withdraw(parseIds(body)));
      }
      throw notAllowed(method, 'GET, PUT, DELETE');
    }
    checkDeviceId(id);
    if (action === 'renew') {
      if (method !== 'PUT' && method !== 'POST') throw notAllowed(method, 'PUT, POST');
      return sendJson(res, 200, { id, expiresAt: new Date(d.renew(id)).toISOString() });
    }
    if (action === 'health') {
      if (method !== 'PUT' && method !== 'POST') throw notAllowed(method, 'PUT, POST');
      const { status, note, check } = parseReport(await readJsonBody(req));
      return this.answer(res, () => d.report(id, check, status, note));
    }
    if (action !== undefined) throw noRoute;
    if (method === 'GET' || method === 'HEAD') {
      const info = d.list().find((x) => x.id === id);
      if (!info) throw new HttpProblem(404, 'Not found', `this host offers no device '${id}'`, 'no-device');
      return sendJson(res, 200, info);
    }
    if (method === 'PUT') {
      const body = await readJsonBody(req);
      return this.answer(res, () => d.register([parseRegistration(body, [], id)]));
    }
    if (method === 'DELETE') return this.answer(res, () => d.withdraw([id]));
    throw notAllowed(method, 'GET, PUT, DELETE');
  }

  private async answer(res: ServerResponse, write: () => Delta | undefined): Promise<void> {
    const asked = this.c.devices.savesAsked;
    const delta = write();
    // A persistent change is answered once it is on disk; if it cannot be saved, the registrant is told.
    // A write that saved nothing is not held up, nor failed, by another request's save.
    if (this.c.devices.savesAsked === asked) return this.sendVersion(res, delta);
    await this.c.devices.persisted().catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new HttpProblem(
        500,
        'Not saved',
        `the change is in effect but could not be saved to the state folder (${code}); it will not survive a restart`,
        'not-saved',
      );
    });
    this.sendVersion(res, delta);
  }

  private sendVersion(res: ServerResponse, delta: Delta | undefined): void {
    sendJson(res, 200, {
      version: delta?.version ?? null,
      added: delta?.added.map((x) => x.id) ?? [],
      updated: delta?.updated.map((x) => x.id) ?? [],
      removed: delta?.removed ?? [],
    });
  }
}

function parseIds(body: unknown): string[] {
  const ids = isObject(body) ? body.ids : undefined;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => typeof x === 'string'))
    throw new FieldProblem([{ field: 'ids', message: 'expected {"ids": ["device-id", ...]}' }]);
  return ids.map(checkDeviceId);
}

function parseReport(body: unknown): { status: HealthState; note: string; check?: string } {
  const errors: { field: string; message: string }[] = [];
  const b = isObject(body) ? body : {};
  const status = typeof b.status === 'string' ? REPORTS[b.status] : undefined;
  if (!status) errors.push({ field: 'status', message: 'must be pass, warn or fail' });
  if (b.note !== undefined && (typeof b.note !== 'string' || b.note.length > 1000))
    errors.push({ field: 'note', message: 'must be a string of at most 1000 characters' });
  if (b.check !== undefined && typeof b.check !== 'string')
    errors.push({ field: 'check', message: 'must be the id of a ttl check' });
  for (const key of Object.keys(b))
    if (!['status', 'note', 'check'].includes(key))
      errors.push({ field: key, message: `unknown field '${key}' (allowed: status, note, check)` });
  if (errors.length > 0 || !status) throw new FieldProblem(errors);
  return { status, note: (b.note as string | undefined) ?? '', check: b.check as string | undefined };
}

function notAllowed(method: string, allow: string): HttpProblem {
  return new HttpProblem(
    405,
    'Method not allowed',
    `${method} is not supported here (allowed: ${allow})`,
    'method-not-allowed',
    {
      allow,
    },
  );
}

function title(status: number): string {
  return status === 404 ? 'Not found' : status === 400 ? 'Bad request' : 'Conflict';
}

function sendFieldProblem(res: ServerResponse, problem: FieldProblem, instance: string): void {
  sendJson(
    res,
    problem.status,
    {
      type: `https://herald.dev/problems/${problem.slug}`,
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      instance,
      errors: problem.errors,
    },
    { 'content-type': 'application/problem+json' },
  );
}
