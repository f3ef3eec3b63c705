import type { ForgetOutcome } from '../agent/agent.js';
import type { Directory } from '../directory/directory.js';
import { parseDeviceFilter } from '../http/directory-routes.js';
import { HttpProblem } from '../http/problem.js';
import { isObject } from '../profiles/validate.js';

/** The commands of `bridge/request/<command>`, zigbee2mqtt-style. */
export const REQUEST_COMMANDS = ['devices', 'agents', 'get', 'forget'] as const;

export interface RequestContext {
  directory: Directory;
  forget(name: string): ForgetOutcome;
  /** The journal index of the directory now: a devices answer carries it, as /v1/devices does. */
  index(): string;
  /** Named in every response: with several publishers answering, the asker can tell them apart. */
  publisher: string;
}

/** A response on `bridge/response/<command>`: the request's `transaction` echoed, data or an error. */
export type RequestResponse =
  | { transaction?: string | number; publisher: string; status: 'ok'; data: unknown }
  | { transaction?: string | number; publisher: string; status: 'error'; error: { code: string; message: string } };

/** Why a request was refused: the response's error code, and the metric's reason. */
class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Answers one request. Never throws: whatever is wrong with it is said in the response. */
export function answerRequest(command: string, payload: Buffer, rc: RequestContext): RequestResponse {
  let transaction: string | number | undefined;
  try {
    const body = parseBody(payload);
    transaction = transactionOf(body);
    const data = run(command, body, rc);
    return { ...(transaction === undefined ? {} : { transaction }), publisher: rc.publisher, status: 'ok', data };
  } catch (err) {
    const error =
      err instanceof RequestError
        ? { code: err.code, message: err.message }
        : err instanceof HttpProblem
          ? { code: err.slug, message: err.detail }
          : { code: 'internal', message: 'the request failed; see the agent log' };
    return { ...(transaction === undefined ? {} : { transaction }), publisher: rc.publisher, status: 'error', error };
  }
}

/** A request not run (past the rate): the same response, its transaction echoed, with `code`. */
export function refuseRequest(payload: Buffer, publisher: string, code: string, message: string): RequestResponse {
  let transaction: string | number | undefined;
  try {
    transaction = transactionOf(parseBody(payload));
  } catch {
    // A payload that is not a JSON object has no transaction to echo.
  }
  return {
    ...(transaction === undefined ? {} : { transaction }),
    publisher,
    status: 'error',
    error: { code, message },
  };
}

function transactionOf(body: Record<string, unknown>): string | number | undefined {
  return typeof body.transaction === 'string' || typeof body.transaction === 'number' ? body.transaction : undefined;
}

function parseBody(payload: Buffer): Record<string, unknown> {
  if (payload.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new RequestError('bad-json', 'the request payload is not JSON');
  }
  if (!isObject(value)) throw new RequestError('bad-request', 'the request payload must be a JSON object');
  return value;
}

function stringParam(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw new RequestError('bad-parameter', `'${key}' must be a non-empty string`);
  return v;
}

function run(command: string, body: Record<string, unknown>, rc: RequestContext): unknown {
  switch (command) {
    case 'devices': {
      // The API's filters, read the same way: the answer is exactly what /v1/devices gives.
      const query: Record<string, string> = {};
      for (const key of ['agent', 'capability', 'kind', 'tag', 'name', 'site', 'include']) {
        const v = body[key];
        if (v === undefined) continue;
        if (typeof v !== 'string') throw new RequestError('bad-parameter', `'${key}' must be a string`);
        query[key] = v;
      }
      const devices = rc.directory.devices(parseDeviceFilter(query));
      return { devices, count: devices.length, index: rc.index() };
    }
    case 'agents': {
      const agents = rc.directory.agents();
      return { agents, count: agents.length };
    }
    case 'get': {
      const agent = stringParam(body, 'agent');
      const id = stringParam(body, 'device');
      const device = rc.directory.device(agent, id, body.include === 'lost');
      if (!device) throw new RequestError('no-device', `no device '${agent}/${id}' is known`);
      return device;
    }
    case 'forget': {
      const outcome = rc.forget(stringParam(body, 'agent'));
      if (!outcome.forgotten) throw new RequestError(`agent-${outcome.reason}`, outcome.detail);
      return outcome;
    }
    default:
      throw new RequestError('no-command', `no command '${command}'; commands: ${REQUEST_COMMANDS.join(', ')}`);
  }
}
