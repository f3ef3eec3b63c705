import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSse, type SseEvent } from '../src/cli/sse-parser.js';
import type { Device } from '../src/profiles/model.js';
import { device, SimSite, type SimAgent } from './helpers/sim.js';

const temperature = (id: string, extra: Partial<Device> = {}) =>
  device(id, { capabilities: [{ id: 't', kind: 'property', type: 'temperature', unit: '°C' }], ...extra });
const climate = temperature('climate');
const lamp = device('lamp', { capabilities: [{ id: 'on', kind: 'property', type: 'switch' }] });
const meter = device('meter', { capabilities: [{ id: 'p', kind: 'property', type: 'power' }] });

let site: SimSite;
let me: SimAgent;
let base: string;

test.before.each(async () => {
  site = new SimSite(11);
  me = await site.start('alpha', [climate], { api: true });
  await site.start('beta', [lamp]);
  await site.start('gamma', [meter]);
  assert.ok((await site.runUntilConverged(5000)) >= 0, 'site converges');
  base = `http://127.0.0.1:${me.agent.apiEndpoint!.port}`;
});

test.after.each(async () => {
  await site.stopAll();
});

interface View {
  status: number;
  body: { index?: string; count?: number; devices?: { agent: string; id: string }[] } & Record<string, unknown>;
  etag?: string;
  index?: string;
}

async function view(path: string, headers: Record<string, string> = {}): Promise<View> {
  const res = await request(base + path, { headers });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    body: text ? (JSON.parse(text) as View['body']) : {},
    etag: res.headers.etag as string | undefined,
    index: res.headers['x-herald-index'] as string | undefined,
  };
}

/** The events of /v1/events at `path` until none came for a moment (all are in the journal already). */
async function eventsAt(path: string): Promise<SseEvent[]> {
  const controller = new AbortController();
  const res = await request(base + path, { signal: controller.signal });
  assert.is(res.statusCode, 200);
  const events: SseEvent[] = [];
  const reading = (async () => {
    try {
      for await (const e of parseSse(res.body)) events.push(e);
    } catch {
      // aborted
    }
  })();
  let seen = -1;
  while (seen !== events.length) {
    seen = events.length;
    await new Promise((r) => setTimeout(r, 150));
  }
  controller.abort();
  await reading;
  return events;
}

const summary = (events: SseEvent[]) =>
  events.map((e) => {
    const data = JSON.parse(e.data) as { agent: string; id?: string; device?: { id: string } };
    return `${e.event} ${data.agent}/${data.id ?? data.device?.id ?? ''}`;
  });

test('list, change, then watch from the index with a filter: exactly the changes after it, as the list sees them', async () => {
  const listed = await view('/v1/devices?capability=temperature');
  assert.equal(
    listed.body.devices!.map((d) => `${d.agent}/${d.id}`),
    ['alpha/climate'],
  );
  assert.ok(listed.index && listed.body.index === listed.index, 'the index is in the header and the body');

  const change = async (agent: string, devices: Device[]) => {
    await site.change(agent, devices);
    await site.clock.advance(10); // delivered before the next one, so that the order is known
  };
  await change('beta', [lamp, temperature('thermo')]); // starts matching: added
  await change('gamma', [{ ...meter, location: 'moved' }]); // never matches: not sent
  await change('alpha', [{ ...climate, location: 'porch' }]); // still matches: updated
  await change('beta', [lamp, { ...lamp, id: 'thermo' }]); // stops matching: removed, for this client

  const filtered = await eventsAt(`/v1/events?index=${listed.index}&capability=temperature`);
  assert.equal(summary(filtered), [
    'device-added beta/thermo',
    'device-updated alpha/climate',
    'device-removed beta/thermo',
  ]);

  const beta = await eventsAt(`/v1/events?index=${listed.index}&agent=beta`);
  assert.equal(summary(beta), ['device-added beta/thermo', 'device-updated beta/thermo']);

  const all = await eventsAt(`/v1/events?index=${listed.index}`);
  assert.is(all.length, 4, summary(all).join(', '));
  const now = await view('/v1/devices?capability=temperature');
  assert.is(now.index, all[all.length - 1].id, 'the list now reflects the last event');
});

test('ETag and If-None-Match: 304 while the content is unchanged, with the current index', async () => {
  const first = await view('/v1/devices');
  assert.is(first.status, 200);
  assert.ok(first.etag, 'an ETag');
  const same = await view('/v1/devices', { 'if-none-match': first.etag });
  assert.is(same.status, 304);
  assert.is(same.index, first.index);
  await site.change('beta', [lamp, meter]);
  await site.clock.advance(10);
  const changed = await view('/v1/devices', { 'if-none-match': first.etag });
  assert.is(changed.status, 200);
  assert.is.not(changed.etag, first.etag);
  assert.is.not(changed.index, first.index);
  const unrelated = await view('/v1/devices?agent=alpha', {
    'if-none-match': (await view('/v1/devices?agent=alpha')).etag!,
  });
  assert.is(unrelated.status, 304, 'the filtered view did not change');
});

test('/v1/agents/{name}, /v1/devices/{agent}, the software version, and this agent heard from now', async () => {
  await site.clock.advance(60_000);
  const agents = await view('/v1/agents');
  const software = agents.body.software as { name: string; version: string };
  assert.is(software.name, 'herald');
  assert.match(software.version, /^\d+\.\d+\.\d+/);
  const alpha = await view('/v1/agents/alpha');
  assert.is(alpha.status, 200);
  assert.is(alpha.body.name, 'alpha');
  assert.is(alpha.body.lastSeen, new Date(site.clock.now()).toISOString(), 'the local agent is current');
  assert.is(alpha.body.software, `herald ${software.version}`);
  assert.ok(alpha.index, 'an object has its index in the header');
  assert.is(alpha.body.index, undefined, 'and keeps its own shape');
  assert.is((await view('/v1/agents/nobody')).status, 404);
  const beta = await view('/v1/devices/beta');
  assert.is(beta.status, 200);
  assert.equal(
    beta.body.devices!.map((d) => d.id),
    ['lamp'],
  );
  assert.is((await view('/v1/devices/nobody')).status, 404);
});

test.run();
