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
      const shown = withoutSecrets(url);
      const finish = (result: ProbeResult) => {
        clearTimeout(deadline);
        resolve(result);
      };
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
          finish({ status, output: `HTTP GET ${shown}: ${code} ${res.statusMessage ?? ''}`.trim() });
          req.destroy();
        },
      );
      // `timeout` above is an idle timeout: a server trickling interim answers or header lines resets it
      // for ever, holding one of the checker's few slots. The deadline bounds the whole exchange.
      const deadline = setTimeout(() => req.destroy(timedOut()), timeoutMs);
      req.on('timeout', () => req.destroy(timedOut()));
      req.on('error', (err: NodeJS.ErrnoException) =>
        finish({ status: 'critical', output: `HTTP GET ${shown}: ${err.code ?? err.message}` }),
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
      socket.once('timeout', () => socket.destroy(timedOut()));
      socket.once('error', (err: NodeJS.ErrnoException) =>
        resolve({ status: 'critical', output: `TCP connect ${address}: ${err.code ?? err.message}` }),
      );
    });
  },
};

function timedOut(): Error {
  return Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });
}

/**
 * The URL as a check's output shows it: the output is replicated to every host, SSE and MQTT, while the
 * declaration (which may hold a password or a token in the query) stays on the owning host.
 */
function withoutSecrets(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.replace(/\/\/[^/]*@/, '//').split('?')[0];
  }
}
