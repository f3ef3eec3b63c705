/**
 * Attack on the local API's event stream: many /v1/events watchers that never read (a paused
 * `herald watch | less` would do, or a local program holding connections on purpose) while the
 * directory changes. A real agent process on loopback; its peak RSS (VmHWM) is what the host feels.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald, testGroupPort, type Running } from '../helpers/process.js';

const STALLED = 100;
const WRITES = 120;

/** A device near the profile limits: about 35 kB of JSON in each event that carries it. */
function fatDevice(i: number): Record<string, unknown> {
  return {
    name: 'n'.repeat(120),
    model: 'm'.repeat(120),
    location: 'l'.repeat(120),
    tags: Array.from({ length: 20 }, (_, k) => `t${k}${'x'.repeat(50)}`),
    capabilities: Array.from({ length: 50 }, (_, k) => ({
      id: `c${k}`,
      kind: 'property',
      description: 'd'.repeat(500),
      endpoint: `http://{address}:1/${'e'.repeat(300)}${i}`,
    })),
  };
}

/** A /v1/events client that sends its request and never reads a byte. */
function stalledWatcher(port: number): Socket {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  s.write('GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  s.pause();
  return s;
}

/** A /v1/events client that reads everything: the ids of the device events it was sent. */
function readingWatcher(port: number): { socket: Socket; ids: string[] } {
  const ids: string[] = [];
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write('GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  let rest = '';
  socket.on('data', (chunk: Buffer) => {
    rest += chunk.toString('latin1');
    const blocks = rest.split('\n\n');
    rest = blocks.pop()!;
    for (const b of blocks) {
      const id = /^id: (\S+)$/m.exec(b)?.[1];
      if (id && /^event: device-/m.test(b)) ids.push(id);
    }
  });
  return { socket, ids };
}

async function peakMb(run: Running): Promise<number> {
  const status = await readFile(`/proc/${run.proc.pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}

test(`${STALLED} event watchers that never read: the agent holds a bounded total for them all`, async () => {
  // Before: each stream could hold 1 MiB unsent, whatever the others held; 100 stalled watchers and 120
  // changes of fat devices took the agent from 67 to 232 MB resident. Now all streams together hold at
  // most 8 MiB; past it the streams holding most are dropped (they reconnect with Last-Event-ID).
  const dir = await mkdtemp(join(tmpdir(), 'herald-sse-stalled-'));
  const sockets: Socket[] = [];
  let agent: Running | undefined;
  try {
    await cp('device-profiles', join(dir, 'p'), { recursive: true });
    agent = runHerald([
      'agent',
      ...['--name', 'stalled', '--site', `stalled${process.pid}`, '--group', `239.255.70.71:${testGroupPort()}`],
      ...['--api', '127.0.0.1:0', '--peer-port', '0', '--discovery', 'multicast'],
      ...['--profiles', join(dir, 'p'), '--state-dir', join(dir, 's'), '--log-format', 'json'],
    ]);
    const run = agent;
    const started = await run.waitFor(() => run.logs().find((l) => l.msg === 'agent started'), 8000, 'agent started');
    const api = String(started.api);
    const port = Number(api.split(':')[1]);
    const reader = readingWatcher(port);
    sockets.push(reader.socket);
    for (let i = 0; i < STALLED; i++) sockets.push(stalledWatcher(port));
    await new Promise((r) => setTimeout(r, 500));
    const before = await peakMb(run);
    for (let i = 0; i < WRITES; i++) {
      const res = await fetch(`http://${api}/v1/local/devices/fat-${i % 20}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(fatDevice(i)),
      });
      assert.is(res.status, 200, await res.text());
    }
    const deadline = Date.now() + 10_000;
    while (reader.ids.length < WRITES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const peak = await peakMb(run);
    const metrics = await (await fetch(`http://${api}/metrics`)).text();
    const dropped = [...metrics.matchAll(/^herald_invalid_input_total\{[^}]*reason="event-stream[^"]*"\} (\d+)/gm)];
    console.log(
      `  peak RSS ${before.toFixed(0)} -> ${peak.toFixed(0)} MB; reader got ${reader.ids.length} of ${WRITES}; ` +
        `dropped streams counted: ${dropped.map((m) => m[0].split(' ')[0].split('reason=')[1] + ' ' + m[1]).join(', ')}`,
    );
    assert.is(reader.ids.length, WRITES, 'the watcher that reads gets every change');
    assert.is(new Set(reader.ids).size, WRITES, 'each once');
    assert.ok(
      peak < 140,
      `peak RSS ${peak.toFixed(0)} MB with ${STALLED} stalled watchers (${before.toFixed(0)} before)`,
    );
    assert.ok(
      dropped.reduce((n, m) => n + Number(m[1]), 0) > 0,
      'the dropped streams are counted in herald_invalid_input_total',
    );
    assert.is((await fetch(`http://${api}/livez`)).status, 200);
  } finally {
    for (const s of sockets) s.destroy();
    await agent?.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
