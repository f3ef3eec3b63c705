import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSse, type SseEvent } from '../src/cli/query-commands.js';
import { device, SimSite, type SimAgent } from './helpers/sim.js';

const meter = device('meter', {
  tags: ['energy'],
  capabilities: [{ id: 'power', kind: 'property', type: 'power', unit: 'W' }],
});
const cam = device('cam', {
  names: ['greenhouse/climate'],
  capabilities: [{ id: 'main', kind: 'stream', type: 'video' }],
});
let site: SimSite;
let me: SimAgent;
let base: string;

test.before.each(async () => {
  site = new SimSite(7);
  me = await site.start(
    'alpha',
    [
      device('climate', {
        tags: ['env'],
        names: ['greenhouse/climate'],
        capabilities: [{ id: 'temp', kind: 'property', type: 'temperature', unit: '°C' }],
      }),
    ],
    { api: true },
  );
  await site.start('beta', [cam]);
  await site.start('gamma', [meter]);
  assert.ok((await site.runUntilConverged(5000)) >= 0, 'site converges');
  const api = me.agent.apiEndpoint!;
  base = `http://127.0.0.1:${api.port}`;
});

test.after.each(async () => {
  await site.stopAll();
});

/** The fields these tests read from the API's answers (each answer has some of them). */
interface Answer {
  devices: { agent: string; id: string; origin: Record<string, number> }[];
  agents: unknown[];
  detail: string;
  status: number | string;
  type: string;
  agent: string;
  device: { agent: string; id: string };
  id?: string;
  conflict: { candidates: { agent: string; id: string }[] };
  children: unknown[];
  kind: string;
  capability: { unit: string };
  checks: Record<string, { ok: boolean }>;
  reason: string;
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await request(base + path, { headers });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    type: String(res.headers['content-type']),
    body: JSON.parse(text || '{}') as Answer,
    headers: res.headers,
  };
}

const data = (e: SseEvent) => JSON.parse(e.data) as Answer;

test("GET /v1/devices lists every alive agent's devices with their origin", async () => {
  const r = await get('/v1/devices');
  assert.is(r.status, 200);
  assert.equal(
    r.body.devices.map((d) => `${d.agent}/${d.id}`),
    ['alpha/climate', 'beta/cam', 'gamma/meter'],
  );
  const climate = r.body.devices[0];
  assert.equal(Object.keys(climate.origin), ['incarnation', 'version']);
  assert.is(climate.origin.incarnation, me.incarnation);
});

test('filters: capability (id or type), kind, tag, agent, name prefix', async () => {
  const ids = async (q: string) => (await get(`/v1/devices?${q}`)).body.devices.map((d) => d.id);
  assert.equal(await ids('capability=temperature'), ['climate']);
  assert.equal(await ids('capability=main'), ['cam']);
  assert.equal(await ids('kind=stream'), ['cam']);
  assert.equal(await ids('tag=energy'), ['meter']);
  assert.equal(await ids('agent=beta'), ['cam']);
  assert.equal(await ids('name=greenhouse'), ['climate', 'cam'], 'sorted by agent, then device');
});

test('bad queries are 400 problem+json naming what was wrong', async () => {
  for (const [q, pattern] of [
    ['kind=gadget', /kind must be one of property, action, event, stream, service; got 'gadget'/],
    ['colour=red', /unknown query parameter 'colour'/],
    ['include=everything', /include must be 'lost'/],
    ['tag=a&tag=b', /given more than once/],
    ['agent=', /'agent' is empty/],
  ] as const) {
    const r = await get(`/v1/devices?${q}`);
    assert.is(r.status, 400, q);
    assert.is(r.type, 'application/problem+json');
    assert.match(r.body.detail, pattern);
    assert.is(r.body.status, 400);
    assert.type(r.body.type, 'string');
  }
});

test('GET /v1/devices/{agent}/{device}: the device, or 404 saying why', async () => {
  const ok = await get('/v1/devices/beta/cam');
  assert.is(ok.status, 200);
  assert.is(ok.body.agent, 'beta');
  assert.match((await get('/v1/devices/beta/nothing')).body.detail, /agent 'beta' has no device 'nothing'/);
  assert.match((await get('/v1/devices/nobody/cam')).body.detail, /no agent 'nobody' is known/);
  assert.is((await get('/v1/devices/beta')).status, 200, "an agent's devices");
  assert.is((await get('/v1/devices/beta/cam/x')).status, 400);
  assert.is((await get('/v1/devices/beta/%E0%A4%A')).status, 400);
});

test('lost agents: out of /v1/devices, in with include=lost, and lost in /v1/agents', async () => {
  await site.crash('gamma');
  await site.clock.advance(4000);
  assert.equal(
    (await get('/v1/devices')).body.devices.map((d) => d.id),
    ['climate', 'cam'],
  );
  assert.equal(
    (await get('/v1/devices?include=lost')).body.devices.map((d) => d.id),
    ['climate', 'cam', 'meter'],
  );
  assert.is((await get('/v1/devices/gamma/meter')).status, 404);
  assert.is((await get('/v1/devices/gamma/meter?include=lost')).status, 200);
  const agents = (await get('/v1/agents')).body.agents as {
    name: string;
    state: string;
    devices: number;
    address: string;
    version: number;
    lastSeen: string;
  }[];
  assert.equal(
    agents.map((a) => [a.name, a.state]),
    [
      ['alpha', 'alive'],
      ['beta', 'alive'],
      ['gamma', 'lost'],
    ],
  );
  for (const a of agents) {
    assert.type(a.version, 'number');
    assert.type(a.address, 'string');
    assert.ok(!Number.isNaN(Date.parse(a.lastSeen)));
  }
});

test('GET /v1/names: bound device with its conflict, branches, capabilities, 404', async () => {
  const bound = await get('/v1/names/greenhouse/climate');
  assert.is(bound.status, 200);
  assert.is(bound.body.device.agent, 'alpha', 'the smallest agent name wins, on every host');
  assert.equal(bound.body.conflict.candidates, [
    { agent: 'alpha', id: 'climate' },
    { agent: 'beta', id: 'cam' },
  ]);
  const branch = await get('/v1/names/greenhouse');
  assert.equal(branch.body.children, [{ name: 'climate', kind: 'name' }]);
  const cap = await get('/v1/names/alpha/climate/temp');
  assert.is(cap.body.kind, 'capability');
  assert.is(cap.body.capability.unit, '°C');
  assert.is((await get('/v1/names/nothing/here')).status, 404);
});

test('other methods, routes and health', async () => {
  const post = await request(base + '/v1/devices', { method: 'POST', body: '{}' });
  assert.is(post.statusCode, 405);
  assert.is(post.headers.allow, 'GET, HEAD');
  await post.body.dump();
  assert.is((await get('/nope')).status, 404);
  assert.equal((await get('/livez')).body, { status: 'ok' });
  const ready = await get('/readyz');
  assert.is(ready.status, 200);
  assert.ok(ready.body.checks.profiles.ok);
  const metrics = await request(base + '/metrics');
  const text = await metrics.body.text();
  assert.match(String(metrics.headers['content-type']), /text\/plain; version=0.0.4/);
  assert.match(text, /^herald_agents\{state="alive"\} 3$/m);
  assert.match(text, /^herald_api_requests_total\{route="readyz",status="200"\} 1$/m);
});

test("HEAD /v1/events answers at once and keeps no stream; /v1/events takes the list's include=lost", async () => {
  const head = await request(base + '/v1/events', { method: 'HEAD', signal: AbortSignal.timeout(2000) });
  assert.is(head.statusCode, 200);
  assert.match(String(head.headers['content-type']), /text\/event-stream/);
  await head.body.dump();
  // The query a client listed with (GET /v1/devices?include=lost&tag=env) is the one it watches with.
  const events = await request(base + '/v1/events?include=lost&tag=env', { signal: AbortSignal.timeout(2000) });
  assert.is(events.statusCode, 200);
  events.body.destroy();
  const bad = await get('/v1/events?include=everything');
  assert.is(bad.status, 400);
  assert.match(bad.body.detail, /include must be 'lost'/);
});

/** Reads SSE events until `count` arrived (or the stream ends), then closes the connection. */
async function readEvents(
  headers: Record<string, string>,
  count: number,
  whileOpen: () => Promise<void>,
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const res = await request(base + '/v1/events', { headers, signal: controller.signal });
  assert.is(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /text\/event-stream/);
  const events: SseEvent[] = [];
  const reading = (async () => {
    try {
      for await (const e of parseSse(res.body)) {
        events.push(e);
        if (events.length >= count) break;
      }
    } catch {
      // aborted
    }
  })();
  await whileOpen();
  const deadline = Date.now() + 2000;
  while (events.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  controller.abort();
  await reading;
  return events;
}

test('GET /v1/events streams changes with ids, and resumes from Last-Event-ID', async () => {
  const live = await readEvents({}, 1, async () => {
    await site.change('beta', [cam, device('lamp')]);
    await site.clock.advance(10);
  });
  assert.is(live[0].event, 'device-added');
  assert.is(data(live[0]).device.id, 'lamp');
  const first = live[0];
  assert.match(first.id!, /^\d+-\d+$/);

  // While no client is connected, the lamp goes and a meter moves; a client that reconnects gets exactly those.
  await site.change('beta', [cam]);
  await site.change('gamma', [{ ...meter, location: 'moved' }]);
  await site.clock.advance(10);
  const resumed = await readEvents({ 'last-event-id': first.id! }, 2, async () => {});
  assert.equal(
    resumed.map((e) => `${e.event} ${data(e).id ?? data(e).device.id}`),
    ['device-removed lamp', 'device-updated meter'],
  );
});

test('GET /v1/events sends a reset when Last-Event-ID is no longer known', async () => {
  const events = await readEvents({ 'last-event-id': '12345-1' }, 1, async () => {});
  assert.is(events[0].event, 'reset');
  assert.match(data(events[0]).reason, /fetch \/v1\/devices again/);
});

test.run();
