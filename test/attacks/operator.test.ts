import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSse, type SseEvent } from '../../src/cli/sse-parser.js';
import { validateDevice } from '../../src/profiles/validate.js';
import { CLI, runHerald } from '../helpers/process.js';

async function collect(chunks: Buffer[]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  // One chunk per read, as a socket delivers them.
  for await (const e of parseSse(Readable.from(chunks))) events.push(e);
  return events;
}

test('an SSE event whose UTF-8 is split between two network reads keeps its characters', async () => {
  const text = 'id: 1-1\nevent: device-added\ndata: {"name":"Gewächshaus","unit":"°C"}\n\n';
  const bytes = Buffer.from(text, 'utf8');
  // Every split point, as TCP may deliver any of them: those inside 'ä' or '°' used to give U+FFFD.
  for (let at = 1; at < bytes.length; at++) {
    const events = await collect([bytes.subarray(0, at), bytes.subarray(at)]);
    assert.is(events.length, 1, `split at ${at}`);
    assert.is(events[0].data, '{"name":"Gewächshaus","unit":"°C"}', `split at byte ${at}`);
  }
});

test('--print-config=false and =true: a flag without a --no- form takes the value words too', async () => {
  // Without printing, the agent would start: a bad name stops it at once, after the flags are parsed.
  const off = runHerald(['agent', '--print-config=false', '--name=Not_Valid!']);
  assert.is(await off.exit(), 64);
  assert.equal(off.stderr.length, 1, off.stderr.join('\n'));
  assert.match(off.stderr[0], /^herald: --name: /);
  const on = runHerald(['agent', '--print-config=yes', '--name=printed']);
  assert.is(await on.exit(), 0, on.stderr.join('\n'));
  assert.match(on.stdout.join('\n'), /"name": "printed"/);
});

test('herald demo with a malformed --api: one line and exit 64, no stack trace, no process left running', async () => {
  const cases: [string, string][] = [
    ['nonsense', "herald: demo: --api: expected HOST:PORT, got 'nonsense'"],
    ['127.0.0.1:99999', "herald: demo: --api: '99999' is not a port number"],
    ['0.0.0.0:0', "herald: demo: --api 0.0.0.0:0 is beyond loopback; the demo's API has no token"],
  ];
  for (const [api, message] of cases) {
    const r = runHerald(['demo', `--api=${api}`, '--agents=2', '--duration=1']);
    const code = await Promise.race([r.exit(), new Promise((res) => setTimeout(() => res('still running'), 8000))]);
    if (code === 'still running') await r.stop('SIGKILL');
    assert.is(code, 64, `--api=${api}: ${r.stderr.join('\n')}`);
    assert.equal(r.stderr, [message]);
  }
});

test("terminal control sequences in a device's text are refused: herald ls and watch print what peers announce", () => {
  // Any host of an open cluster announces devices; the codec and catch-up validate them like profiles.
  const hostile = [
    { name: 'Lamp\x1b]0;owned\x07' }, // sets the terminal title; OSC 52 would write the clipboard
    { name: 'Lamp', location: 'hall\x1b[2J' }, // clears the screen of whoever runs herald ls
    { name: 'Lamp', tags: ['ok', 'x\r'] },
    { name: 'Lamp', capabilities: [{ id: 'on', kind: 'property', unit: '\x9b31m' }] }, // the 8-bit CSI
  ];
  for (const fields of hostile) {
    const result = validateDevice({ id: 'lamp', capabilities: [], ...fields });
    assert.not.ok(result.ok, JSON.stringify(fields));
    if (!result.ok) assert.match(result.errors[0].message, /control character/);
  }
  const multiLine = { id: 'lamp', name: 'Lamp', capabilities: [{ id: 'on', kind: 'property', description: 'a\n\tb' }] };
  assert.ok(validateDevice(multiLine).ok, 'a YAML block description keeps its newlines and tabs');
});

test('herald ls | head: the closed pipe ends ls quietly, without an EPIPE stack trace', async () => {
  // A big site: more table than a pipe holds, so ls is still writing when head has gone.
  const devices = Array.from({ length: 5000 }, (_, i) => ({
    agent: 'pi',
    id: `d${i}`,
    name: `Device ${i}`,
    capabilities: [{ id: 't', kind: 'property', type: 'temperature' }],
    names: [],
    tags: [],
  }));
  const body = JSON.stringify({ devices, count: devices.length, index: '1-1' });
  const api = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  try {
    const port = (api.address() as AddressInfo).port;
    for (const json of ['--no-json', '--json']) {
      const sh = `"${process.execPath}" ${CLI} ls ${json} --api 127.0.0.1:${port} | head -n 2 >/dev/null`;
      // Not spawnSync: this process serves the API the child asks.
      const child = spawn('bash', ['-c', sh], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      await new Promise((done) => child.once('close', done));
      const r = { stderr };
      assert.not.match(r.stderr, /EPIPE|^\s+at /m, `${json}: ${r.stderr}`);
    }
  } finally {
    await new Promise((r) => api.close(r));
  }
});

test.run();
