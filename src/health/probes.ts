import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { HealthState } from '../profiles/checks.js';

export interface ProbeResult {
  status: HealthState;
  output: string;
}

/** The ways a check reaches its target; injected so that tests can run checks without sockets. */
export interface Probes {
  http(url: string, timeoutMs: number, expectStatus?: number): Promise<ProbeResult>;
  tcp(address: string, timeoutMs: number): Promise<ProbeResult>;
}

/** Real probes: an HTTP GET (body discarded) and a TCP connect, each bounded by its timeout. */
export const netProbes: Probes = {
  http(url, timeoutMs, expectStatus) {
    return new Promise((resolve) => {
      const send = url.startsWith('https:') ? httpsRequest : httpRequest;
      const req = send(
        url,
        { method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'herald-health' } },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          const status: HealthState =
            expectStatus !== undefined
              ? code === expectStatus
                ? 'passing'
                : 'critical'
              : code >= 200 && code < 300
                ? 'passing'
                : code === 429
                  ? 'warning'
                  : 'critical';
          resolve({ status, output: `HTTP GET ${url}: ${code} ${res.statusMessage ?? ''}`.trim() });
          req.destroy();
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ status: 'critical', output: `HTTP GET ${url}: ${err.code ?? err.message}` }),
      );
      req.end();
    });
  },
  tcp(address, timeoutMs) {
    return new Promise((resolve) => {
      const at = address.lastIndexOf(':');
      const host = address.slice(0, at).replace(/^\[|\]$/g, '');
      const socket = connect({ host, port: Number(address.slice(at + 1)), timeout: timeoutMs });
      socket.once('connect', () => {
        socket.destroy();
        resolve({ status: 'passing', output: `TCP connect ${address}: success` });
      });
      socket.once('timeout', () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      socket.once('error', (err: NodeJS.ErrnoException) =>
        resolve({ status: 'critical', output: `TCP connect ${address}: ${err.code ?? err.message}` }),
      );
    });
  },
};
