/**
 * Attack on the local API: registration writes whose client goes away before the body ends (a reset,
 * or a half-close mid-body). A real agent process on loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald, testGroupPort, type Running } from '../helpers/process.js';

const WRITES = 40;

/** A PUT that promises 100 bytes, sends 4, then resets (even i) or half-closes (odd i) the connection. */
function abortedPut(port: number, i: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(
        `PUT /v1/local/devices/aborted-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
          'content-length: 100\r\n\r\n{"na',
      );
      setTimeout(() => (i % 2 === 0 ? s.resetAndDestroy() : s.end()), 50);
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.resume();
  });
}

test(`${WRITES} writes whose client leaves mid-body: counted as the client's fault, not logged as the agent's`, async () => {
  // Before: each was an "API request failed" error line with a stack trace (journalctl -p err shows them)
  // and a 500 in herald_api_requests_total: any local program could fill the error log, one line per request.
  const dir = await mkdtemp(join(tmpdir(), 'herald-aborted-'));
  let agent: Running | undefined;
  try {
    agent = runHerald([
      'agent',
      ...['--name', 'aborted', '--site', `aborted${process.pid}`, '--group', `239.255.70.71:${testGroupPort()}`],
      ...['--api', '127.0.0.1:0', '--peer-port', '0', '--discovery', 'multicast'],
      ...['--profiles', 'device-profiles', '--state-dir', join(dir, 's'), '--log-format', 'json'],
    ]);
    const run = agent;
    const started = await run.waitFor(() => run.logs().find((l) => l.msg === 'agent started'), 8000, 'agent started');
    const api = String(started.api);
    for (let i = 0; i < WRITES; i++) await abortedPut(Number(api.split(':')[1]), i);
    // A reset is read by the agent after the client has gone: under load the last ones are counted a while later.
    let [metrics, counted] = ['', 0];
    for (const deadline = Date.now() + 5000; counted < WRITES && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = await (await fetch(`http://${api}/metrics`)).text();
      counted = Number(
        /^herald_invalid_input_total\{source="registration",reason="body-aborted"\} (\d+)/m.exec(metrics)?.[1] ?? 0,
      );
    }
    const errors = run.logs().filter((l) => (l.level as number) >= 50);
    console.log(`  error lines ${errors.length}; counted body-aborted ${counted}`);
    assert.equal(errors, [], 'no error-level log line');
    assert.not.match(metrics, /herald_api_requests_total\{route="local-devices",status="500"\}/);
    assert.is(counted, WRITES, 'each counted in herald_invalid_input_total');
    const list = (await (await fetch(`http://${api}/v1/local/devices`)).json()) as { devices: { id: string }[] };
    assert.ok(!list.devices.some((d) => d.id.startsWith('aborted-')), 'nothing registered');
  } finally {
    await agent?.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
