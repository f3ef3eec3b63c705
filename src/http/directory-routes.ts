import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Directory } from '../directory/directory.js';
import type { EventJournal } from '../directory/event-journal.js';
import type { AgentInfo, DeviceFilter } from '../directory/records.js';
import { CAPABILITY_KINDS, type CapabilityKind } from '../profiles/model.js';
import type { Clock } from '../util/clock.js';
import { HERALD_VERSION } from '../version.js';
import { parseHealthParam } from './health-param.js';
import { decodeSegment, HttpProblem, readQuery } from './problem.js';
import type { RequestTarget } from './request-target.js';

/** What the directory's read routes need. */
export interface DirectoryViews {
  directory: Directory;
  journal: EventJournal;
  clock: Clock;
}

export const FILTER_KEYS = ['agent', 'capability', 'kind', 'tag', 'name', 'site', 'health'] as const;

/**
 * Sends a view of the directory with the journal index it reflects (`X-Herald-Index`, and `index` in
 * the body): `GET /v1/events?index=` from it gets exactly the changes after the view, so that listing
 * then watching has no gap and no overlap. The ETag covers the content, not the index: a client whose
 * copy is still current gets a 304 with the current index, and may resume from either.
 */
export function sendView(
  req: IncomingMessage,
  res: ServerResponse,
  index: string,
  content: object,
  /** Lists carry it in the body too; a single device or agent keeps its own shape, the header has it. */
  kind: 'list' | 'object' = 'list',
): void {
  const json = JSON.stringify(content); // once: 5,000 devices are about 2 MB of it
  const etag = `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
  const headers = { etag, 'x-herald-index': index, 'cache-control': 'no-cache' };
  const asked = req.headers['if-none-match'];
  if (asked !== undefined && asked.split(',').some((t) => [etag, `W/${etag}`, '*'].includes(t.trim()))) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = kind === 'list' ? `${json.slice(0, -1)},"index":${JSON.stringify(index)}}` : json;
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** GET /v1/devices: every alive agent's devices, filtered. */
export function listDevices(v: DirectoryViews, url: RequestTarget, req: IncomingMessage, res: ServerResponse): void {
  const filter = parseDeviceFilter(readQuery(url, [...FILTER_KEYS, 'include']));
  const index = v.journal.lastId;
  const devices = v.directory.devices(filter);
  sendView(req, res, index, { devices, count: devices.length });
}

/** GET /v1/devices/{agent}: that agent's devices (filtered like the list); 404 for an unknown agent. */
export function listAgentDevices(
  v: DirectoryViews,
  url: RequestTarget,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const agent = decodeSegment(url.pathname.slice('/v1/devices/'.length));
  const filter = parseDeviceFilter(readQuery(url, [...FILTER_KEYS.filter((k) => k !== 'agent'), 'include']));
  if (!v.directory.agent(agent)) throw new HttpProblem(404, 'Not found', `no agent '${agent}' is known`, 'no-agent');
  const index = v.journal.lastId;
  const devices = v.directory.devices({ ...filter, agent });
  sendView(req, res, index, { devices, count: devices.length });
}

/** GET /v1/devices/{agent}/{device}: one device, or a 404 saying whether the agent or the device is unknown. */
export function showDevice(v: DirectoryViews, url: RequestTarget, req: IncomingMessage, res: ServerResponse): void {
  const includeLost = parseInclude(readQuery(url, ['include']).include);
  const parts = url.pathname.slice('/v1/devices/'.length).split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new HttpProblem(400, 'Bad request', 'expected /v1/devices/{agent}/{device}', 'bad-path');
  const [agent, id] = parts.map(decodeSegment) as [string, string];
  const index = v.journal.lastId;
  const device = v.directory.device(agent, id, includeLost);
  if (!device) {
    const info = v.directory.agent(agent);
    const why = !info
      ? `no agent '${agent}' is known`
      : info.state !== 'alive' && !includeLost
        ? `agent '${agent}' is ${info.state}`
        : `agent '${agent}' has no device '${id}'`;
    throw new HttpProblem(404, 'Not found', why, 'no-device');
  }
  sendView(req, res, index, device, 'object');
}

/** GET /v1/agents: every known agent; this one marked with the software it runs and heard from now. */
export function listAgents(v: DirectoryViews, url: RequestTarget, req: IncomingMessage, res: ServerResponse): void {
  readQuery(url, []);
  const index = v.journal.lastId;
  const agents = v.directory.agents().map((a) => present(v, a));
  sendView(req, res, index, { agents, count: agents.length, software: { name: 'herald', version: HERALD_VERSION } });
}

/** GET /v1/agents/{name}. */
export function showAgent(v: DirectoryViews, url: RequestTarget, req: IncomingMessage, res: ServerResponse): void {
  readQuery(url, []);
  const name = decodeSegment(url.pathname.slice('/v1/agents/'.length));
  const index = v.journal.lastId;
  const info = name.includes('/') ? undefined : v.directory.agent(name);
  if (!info) throw new HttpProblem(404, 'Not found', `no agent '${name}' is known`, 'no-agent');
  sendView(req, res, index, present(v, info), 'object');
}

/**
 * The local agent is always current (it is the one answering); its stored lastSeen is when it last
 * touched its own entry, at start. Other agents' software is not announced, so only this one's shows.
 */
function present(v: DirectoryViews, a: AgentInfo): AgentInfo & { software?: string } {
  if (!a.local) return a;
  return { ...a, lastSeen: new Date(v.clock.now()).toISOString(), software: `herald ${HERALD_VERSION}` };
}

/** The filter parameters of a query, without the others (index, lastEventId). */
export function pickFilter(q: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(FILTER_KEYS.flatMap((k) => (q[k] === undefined ? [] : [[k, q[k]]])));
}

export function parseDeviceFilter(q: Record<string, string | undefined>): DeviceFilter {
  const filter: DeviceFilter = { includeLost: parseInclude(q.include) };
  if (q.kind !== undefined) {
    if (!(CAPABILITY_KINDS as readonly string[]).includes(q.kind)) {
      const detail = `kind must be one of ${CAPABILITY_KINDS.join(', ')}; got '${q.kind}'`;
      throw new HttpProblem(400, 'Bad request', detail, 'bad-parameter');
    }
    filter.kind = q.kind as CapabilityKind;
  }
  filter.health = parseHealthParam(q.health);
  for (const key of ['agent', 'capability', 'tag', 'name', 'site'] as const) {
    if (q[key] === undefined) continue;
    if (q[key] === '') throw new HttpProblem(400, 'Bad request', `query parameter '${key}' is empty`, 'bad-parameter');
    filter[key] = q[key];
  }
  return filter;
}

export function parseInclude(include: string | undefined): boolean {
  if (include === undefined) return false;
  if (include === 'lost') return true;
  throw new HttpProblem(400, 'Bad request', `include must be 'lost'; got '${include}'`, 'bad-parameter');
}
