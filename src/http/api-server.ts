import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Directory } from '../directory/directory.js';
import type { EventJournal } from '../directory/event-journal.js';
import type { HeraldMetrics } from '../metrics/herald-metrics.js';
import type { ForgetOutcome } from '../agent/agent.js';
import type { Registry } from 'prom-client';
import type { ApiRoutes } from '../registration/local-api.js';
import type { ApiVia } from '../registration/write-guard.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import {
  FILTER_KEYS,
  listAgentDevices,
  listAgents,
  listDevices,
  parseDeviceFilter,
  parseInclude,
  pickFilter,
  showAgent,
  showDevice,
} from './directory-routes.js';
import { eventView } from './event-filter.js';
import { decodeSegment, HttpProblem, readQuery, sendJson, sendProblem } from './problem.js';
import { boundAddress, closeServer, listenBounded, type BoundedServer, type HttpBounds } from './listen.js';
import { parseRequestTarget, RequestTargetError, type RequestTarget } from './request-target.js';
import { EVENT_STREAM, EventStream, SharedFrames } from './sse.js';
import { StreamBudget } from './stream-budget.js';

/**
 * The local API serves a few readers (the CLI, a dashboard, Prometheus): 256 connections in all is
 * ample, and a client slower than 5 s with its headers is cut off. Idle connections go after 30 s (an
 * event stream is never idle: it writes a comment every keepAliveMs).
 */
export const API_BOUNDS: HttpBounds = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  maxConnections: 256,
  maxConnectionsPerSource: 128,
  maxHeadersCount: 64,
};

export { parseDeviceFilter } from './directory-routes.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string; critical?: boolean }>;
}

export interface ApiComponents {
  directory: Directory;
  journal: EventJournal;
  metrics: HeraldMetrics;
  logger: Logger;
  clock: Clock;
  /** prom-client's default figures (--node-metrics) after Herald's own at /metrics; loaded after start. */
  nodeMetrics?: Promise<Registry | undefined>;
  readiness: () => Readiness;
  /** POST /v1/agents/{name}/forget: retire a lost or left agent at once. */
  forget?: (name: string) => ForgetOutcome;
  /** Returns a problem when the request may not proceed (the bearer token of a non-loopback API). */
  authorize?: (req: IncomingMessage) => HttpProblem | undefined;
  /** Route groups with their own methods (registration), handed whole requests after authorization. */
  routes?: ApiRoutes[];
}

export interface ApiInit {
  host: string;
  port: number;
  /** SSE comment lines keep proxies and idle timeouts from closing a quiet stream. */
  keepAliveMs?: number;
}

const ROUTES =
  '/v1/devices, /v1/devices/{agent}, /v1/devices/{agent}/{device}, /v1/names/{path}, /v1/agents, ' +
  '/v1/agents/{name}, /v1/agents/{name}/forget (POST), /v1/events, /livez, /readyz, /metrics';

/** The local query API: read-only views of the directory, its change stream, health and metrics. */
export class ApiServer {
  private server: BoundedServer | undefined;
  private readonly streams = new Set<EventStream>();
  private readonly budget = new StreamBudget(
    () => this.streams,
    (reason) => this.c.metrics.invalidInput.inc({ source: 'api-connection', reason }),
  );
  private readonly frames = new SharedFrames();

  constructor(
    private readonly c: ApiComponents,
    private readonly init: ApiInit,
  ) {}

  async start(): Promise<AddressInfo> {
    if (this.server) return boundAddress(this.server);
    const keepAliveMs = this.init.keepAliveMs ?? 15_000;
    this.server = await listenBounded((req, res) => this.handle(req, res), {
      host: this.init.host,
      port: this.init.port,
      // An event stream writes a comment every keepAliveMs: the idle timeout must be longer.
      bounds: { ...API_BOUNDS, idleTimeoutMs: Math.max(API_BOUNDS.idleTimeoutMs, 2 * keepAliveMs) },
      onRefused: (reason) => this.c.metrics.invalidInput.inc({ source: 'api-connection', reason }),
    });
    return boundAddress(this.server);
  }

  /** The request handler, for another listener serving the same API (the unix socket). */
  handlerFor(via: ApiVia): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => this.handle(req, res, via);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.streams) s.close();
    this.streams.clear();
    await closeServer(server);
  }

  /** Every outcome is an answer: a problem for the client's faults, a 500 (logged, counted) for ours. */
  private handle(req: IncomingMessage, res: ServerResponse, via: ApiVia = 'tcp'): void {
    let route = 'unknown';
    const path = (req.url ?? '/').split('?')[0].slice(0, 256);
    try {
      const url = this.target(req);
      // Liveness is open, as probes from a service manager or orchestrator carry no token; the unix
      // socket's file mode decides who may use it.
      const denied = url.pathname === '/livez' || via === 'socket' ? undefined : this.c.authorize?.(req);
      if (denied) {
        this.c.metrics.invalidInput.inc({ source: 'api-request', reason: denied.slug });
        throw denied;
      }
      const group = this.c.routes?.find((r) => r.matches(url.pathname));
      if (group) return this.handleGroup(group, req, res, url, via);
      route = this.route(url.pathname);
      if (route === 'forget') return this.forget(url.pathname, req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new HttpProblem(
          405,
          'Method not allowed',
          `${req.method} is not supported on ${url.pathname}; this API is read-only (GET)`,
          'method-not-allowed',
          { allow: 'GET, HEAD' },
        );
      }
      this.dispatch(route, url, req, res);
      this.c.metrics.apiRequests.inc({ route, status: String(res.statusCode) });
    } catch (err) {
      const problem =
        err instanceof HttpProblem
          ? err
          : new HttpProblem(500, 'Internal error', 'the agent failed to answer this request; see its log');
      if (!(err instanceof HttpProblem)) {
        this.c.logger.error({ err, path }, 'API request failed');
        this.c.metrics.bugs.inc({ where: 'api-handler' });
      }
      try {
        sendProblem(res, problem, path);
      } catch {
        res.destroy(); // the response itself failed (a socket gone mid-write): nothing more to say
      }
      this.c.metrics.apiRequests.inc({ route, status: String(problem.status) });
    }
  }

  private handleGroup(
    group: ApiRoutes,
    req: IncomingMessage,
    res: ServerResponse,
    url: RequestTarget,
    via: ApiVia,
  ): void {
    group.handle(req, res, url, via).then(
      () => this.c.metrics.apiRequests.inc({ route: group.name, status: String(res.statusCode) }),
      (err: unknown) => {
        this.c.logger.error({ err, path: url.pathname }, 'API request failed');
        sendProblem(
          res,
          new HttpProblem(500, 'Internal error', 'the agent failed to answer this request; see its log'),
        );
        this.c.metrics.apiRequests.inc({ route: group.name, status: '500' });
      },
    );
  }

  private target(req: IncomingMessage): RequestTarget {
    try {
      return parseRequestTarget(req.url);
    } catch (err) {
      if (!(err instanceof RequestTargetError)) throw err;
      this.c.metrics.invalidInput.inc({ source: 'api-request', reason: `target-${err.reason}` });
      throw new HttpProblem(400, 'Bad request', err.message, 'bad-target');
    }
  }

  private async sendMetrics(res: ServerResponse): Promise<void> {
    const node = (await (await this.c.nodeMetrics)?.metrics()) ?? '';
    const body = this.c.metrics.registry.render() + node;
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private route(pathname: string): string {
    if (pathname === '/v1/devices') return 'devices';
    if (pathname.startsWith('/v1/devices/')) return pathname.slice(12).includes('/') ? 'device' : 'agent-devices';
    if (pathname === '/v1/names' || pathname.startsWith('/v1/names/')) return 'names';
    if (pathname === '/v1/agents') return 'agents';
    if (/^\/v1\/agents\/[^/]+\/forget$/.test(pathname)) return 'forget';
    if (pathname.startsWith('/v1/agents/')) return 'agent';
    if (pathname === '/v1/events') return 'events';
    if (pathname === '/livez' || pathname === '/readyz' || pathname === '/metrics') return pathname.slice(1);
    throw new HttpProblem(404, 'Not found', `no route ${pathname}; routes: ${ROUTES}`, 'no-route');
  }

  /**
   * The one write: retire a lost or left agent. POST with a JSON content type only, so that a web page
   * cannot send it as a simple cross-origin form post (a browser preflights it, and nothing answers that).
   */
  private forget(pathname: string, req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST')
      throw new HttpProblem(405, 'Method not allowed', `${pathname} takes POST`, 'method-not-allowed', {
        allow: 'POST',
      });
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
      throw new HttpProblem(415, 'Unsupported media type', 'send content-type: application/json', 'bad-media-type');
    if (!this.c.forget) throw new HttpProblem(404, 'Not found', 'this agent cannot forget agents', 'no-route');
    const name = decodeSegment(pathname.split('/')[3]);
    const outcome = this.c.forget(name);
    req.resume();
    if (!outcome.forgotten) throw new HttpProblem(409, 'Conflict', outcome.detail, `agent-${outcome.reason}`);
    sendJson(res, 200, outcome);
    this.c.metrics.apiRequests.inc({ route: 'forget', status: '200' });
  }

  private dispatch(route: string, url: RequestTarget, req: IncomingMessage, res: ServerResponse): void {
    const d = this.c.directory;
    switch (route) {
      case 'devices':
        return listDevices(this.c, url, req, res);
      case 'agent-devices':
        return listAgentDevices(this.c, url, req, res);
      case 'device':
        return showDevice(this.c, url, req, res);
      case 'names': {
        readQuery(url, []);
        const raw = url.pathname.slice('/v1/names'.length).replace(/^\//, '');
        const path = raw.split('/').map(decodeSegment).join('/');
        const found = d.lookup(path);
        if (!found) throw new HttpProblem(404, 'Not found', `nothing is bound at '${path}'`, 'no-name');
        return sendJson(res, 200, found);
      }
      case 'agents':
        return listAgents(this.c, url, req, res);
      case 'agent':
        return showAgent(this.c, url, req, res);
      case 'events': {
        // include=lost is taken so that a client watches with the query it listed with; the events are the same.
        const q: Record<string, string | undefined> = readQuery(url, [
          'lastEventId',
          'index',
          'include',
          ...FILTER_KEYS,
        ]);
        parseInclude(q.include);
        const view = eventView(parseDeviceFilter(pickFilter(q)));
        // A HEAD has no body to stream: its headers alone, rather than a stream that never sends them.
        if (req.method === 'HEAD') return void res.writeHead(200, { 'content-type': EVENT_STREAM }).end();
        // A reconnecting EventSource sends Last-Event-ID, which is later than the index it started from.
        const header = req.headers['last-event-id'];
        const lastEventId = (Array.isArray(header) ? header[0] : header) ?? q.lastEventId ?? q.index;
        const keepAliveMs = this.init.keepAliveMs ?? 15_000;
        const stream = new EventStream(res, this.c.journal, lastEventId, keepAliveMs, this.budget, this.frames, view);
        this.streams.add(stream);
        stream.onClose(() => this.streams.delete(stream));
        return;
      }
      case 'livez':
        return sendJson(res, 200, { status: 'ok' });
      case 'readyz': {
        const r = this.c.readiness();
        return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', checks: r.checks });
      }
      case 'metrics':
        return void this.sendMetrics(res).catch((err: unknown) => {
          this.c.logger.error({ err }, 'metrics failed');
          res.destroy();
        });
    }
  }
}
