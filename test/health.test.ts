import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HealthChecker } from '../src/health/checker.js';
import { decodeMessage } from '../src/protocol/codec.js';
import type { Message } from '../src/protocol/messages.js';
import { netProbes, type Probes } from '../src/health/probes.js';
import { FakeClock } from '../src/util/clock.js';
import { seededRandom } from '../src/util/random.js';
import type { Device } from '../src/profiles/model.js';
import { validateDevice } from '../src/profiles/validate.js';
import { device, SimSite, type SimAgent } from './helpers/sim.js';

/** A device as a profile declares it: checks go through the same validation as a file's. */
function checked(id: string, checks: unknown[]): Device {
  const v = validateDevice({ id, name: `Checked ${id}`, capabilities: [{ id: 'api', kind: 'service' }], checks });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.device;
}

let site: SimSite;
let me: SimAgent;
let up: boolean;
let probed: string[];
let flapping: boolean;
/** What a client of beta's /v1/events sees of the checked device. */
let events: string[];

const probes: Probes = {
  http: (url) => {
    if (flapping) up = probed.length % 2 === 0;
    probed.push(url);
    return Promise.resolve(
      up ? { status: 'passing', output: `HTTP GET ${url}: 200 OK` } : { status: 'critical', output: 'ECONNREFUSED' },
    );
  },
  tcp: () => Promise.resolve({ status: 'passing', output: 'ok' }),
};

const httpCheck = {
  id: 'web',
  type: 'http',
  capability: 'api',
  url: 'http://{address}:8080/health',
  interval: '1s',
  success_before_passing: 2,
  failures_before_critical: 3,
};

test.before.each(async () => {
  up = true;
  flapping = false;
  probed = [];
  site = new SimSite(5);
  me = await site.start('alpha', [checked('web-service', [httpCheck])], { api: true, components: { probes } });
  const beta = await site.start('beta', [device('meter')]);
  events = [];
  beta.agent.journal.subscribe(({ event }) => {
    if ((event.type === 'device-added' || event.type === 'device-updated') && event.device.id === 'web-service')
      events.push(`${event.type}:${event.device.health?.status}`);
  });
  assert.ok((await site.runUntilConverged(5000)) >= 0, 'site converges');
});

test.after.each(async () => {
  await site.stopAll();
});

function seenByBeta(): string | undefined {
  return site.agents.get('beta')!.agent.directory.device('alpha', 'web-service')?.health?.status;
}

/** Advances the clock a second at a time until the peer sees `state`; returns the seconds it took. */
async function secondsUntil(state: string, max = 20): Promise<number> {
  for (let s = 0; s <= max; s++) {
    if (seenByBeta() === state) return s;
    await site.clock.advance(1000);
  }
  throw new Error(`beta never saw ${state}; it sees ${seenByBeta()}`);
}

test('an http check flips the device on every host after the configured number of results', async () => {
  const passedAfter = await secondsUntil('passing');
  assert.ok(probed.length >= 2, 'two passes are needed before passing');
  assert.is(probed[0], 'http://10.0.0.1:8080/health', '{address} is expanded');
  const health = site.agents.get('beta')!.agent.directory.device('alpha', 'web-service')!.health!;
  assert.equal(health.checks[0].capability, 'api');
  const record = site.agents.get('beta')!.agent.directory.device('alpha', 'web-service')!;
  assert.is(record.checks, undefined, "the check's declaration stays on the owning host");
  assert.ok(passedAfter <= 4);

  up = false;
  const before = probed.length;
  const sent: Message[] = [];
  site.network.onSend = (from, data) => {
    if (from === '10.0.0.1') sent.push(decodeMessage(data));
  };
  await secondsUntil('critical');
  site.network.onSend = undefined;
  const withDelta = sent.filter((m) => m.delta);
  assert.is(withDelta.length, 1, 'the change of state went out in one datagram');
  assert.equal(
    withDelta[0].delta!.updated.map((d) => [d.id, d.health?.status]),
    [['web-service', 'critical']],
  );
  assert.ok(probed.length - before >= 3, `critical after 3 failures, not ${probed.length - before}`);
  assert.match(
    site.agents.get('beta')!.agent.directory.device('alpha', 'web-service')!.health!.output!,
    /ECONNREFUSED/,
  );
  up = true;
  await secondsUntil('passing');
  assert.equal(
    events,
    ['device-added:critical', 'device-updated:passing', 'device-updated:critical', 'device-updated:passing'],
    'one event (and one version) per change of state, none in between',
  );
});

test('a check that flaps on every run does not change the state more often than its thresholds allow', async () => {
  await secondsUntil('passing');
  const v0 = me.agent.local.currentVersion;
  const probes0 = probed.length;
  flapping = true; // every run alternates: never two passes or three failures in a row
  await site.clock.advance(30_000);
  assert.ok(probed.length - probes0 >= 25, `the check kept running (${probed.length - probes0} runs)`);
  assert.is(me.agent.local.currentVersion, v0, 'no new version while flapping');
  assert.is(seenByBeta(), 'passing');
});

test('a ttl check takes pass/warn/fail reports over the API; the health filter and metrics follow', async () => {
  await site.stop('alpha');
  me = await site.start('alpha', [checked('batch-job', [{ id: 'beat', type: 'ttl', ttl: '5s' }]), device('plain')], {
    api: true,
    components: { probes },
  });
  await site.runUntilConverged(3000);
  const base = `http://127.0.0.1:${me.agent.apiEndpoint!.port}`;
  const report = async (body: unknown) => {
    const res = await request(`${base}/v1/local/devices/batch-job/health`, {
      method: 'PUT',
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as { version: number | null; detail?: string } };
  };
  assert.is(seenByBetaOf('batch-job'), 'critical', 'a ttl check starts critical until the first report');
  const v0 = me.agent.local.currentVersion;
  assert.is((await report({ status: 'warn', note: 'disk 91% full' })).body.version, v0 + 1, 'one version');
  await site.runUntilConverged(2000);
  const rec = site.agents.get('beta')!.agent.directory.device('alpha', 'batch-job')!;
  assert.equal(rec.health, {
    status: 'warning',
    output: 'disk 91% full',
    checks: [{ id: 'beat', status: 'warning', output: 'disk 91% full' }],
  });
  const ids = async (q: string) =>
    ((await (await request(`${base}/v1/devices?${q}`)).body.json()) as { devices: { id: string }[] }).devices.map(
      (d) => d.id,
    );
  assert.equal(await ids('health=warning'), ['batch-job']);
  for (const path of ['/v1/devices?health=sick', '/v1/events?health=sick']) {
    const bad = await request(`${base}${path}`);
    assert.is(bad.statusCode, 400, path);
    assert.match(((await bad.body.json()) as { detail: string }).detail, /health must be one of passing, warning/);
  }
  assert.equal(await ids('health=passing'), ['plain', 'meter'], 'a device without checks counts as passing');
  const metrics = await (await request(`${base}/metrics`)).body.text();
  assert.match(metrics, /herald_health_checks\{state="warning"\} 1/);
  assert.match(metrics, /herald_device_health\{state="warning"\} 1/);

  assert.is((await report({ status: 'pass' })).status, 200);
  assert.is((await report({ status: 'pass' })).body.version, null, 'the same state again makes no version');
  assert.is((await report({ status: 'maybe' })).status, 422);
  const noCheck = await request(`${base}/v1/local/devices/plain/health`, {
    method: 'PUT',
    body: '{"status":"pass"}',
  });
  assert.is(noCheck.statusCode, 409);
  await noCheck.body.text();
  // Not reported within its ttl: critical on every host.
  await site.clock.advance(6000);
  await site.runUntilConverged(2000);
  assert.is(seenByBetaOf('batch-job'), 'critical');
});

test('the real probes: http status rules, a timeout, tcp connect and refusal', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/slow') return; // never answers
    res.statusCode = req.url === '/busy' ? 429 : req.url === '/missing' ? 404 : 200;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const at = `http://127.0.0.1:${port}`;
  try {
    assert.is((await netProbes.http(`${at}/`, 1000)).status, 'passing');
    assert.is((await netProbes.http(`${at}/busy`, 1000)).status, 'warning');
    const missing = await netProbes.http(`${at}/missing`, 1000);
    assert.is(missing.status, 'critical');
    assert.match(missing.output, /: 404/);
    assert.is((await netProbes.http(`${at}/missing`, 1000, 404)).status, 'passing', 'the expected status passes');
    const slow = await netProbes.http(`${at}/slow`, 200);
    assert.equal([slow.status, /ETIMEDOUT/.test(slow.output)], ['critical', true]);
    assert.is((await netProbes.tcp(`127.0.0.1:${port}`, 1000)).status, 'passing');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  const refused = await netProbes.tcp(`127.0.0.1:${port}`, 1000);
  assert.equal([refused.status, refused.output], ['critical', `TCP connect 127.0.0.1:${port}: ECONNREFUSED`]);
});

test('the checker keeps at most `concurrency` probes in flight and one run per check', async () => {
  const clock = new FakeClock();
  let inFlight = 0;
  let most = 0;
  let runs = 0;
  const release: (() => void)[] = [];
  const hanging: Probes = {
    http: () => Promise.reject(new Error('unused')),
    tcp: () => {
      runs++;
      most = Math.max(most, ++inFlight);
      return new Promise((resolve) =>
        release.push(() => {
          inFlight--;
          resolve({ status: 'passing', output: 'ok' });
        }),
      );
    },
  };
  const checker = new HealthChecker(
    { clock, random: seededRandom(1), probes: hanging, onChange: () => {} },
    { concurrency: 3, maxChecks: 50 },
  );
  const spec = checked('x', [{ id: 'c', type: 'tcp', address: 'h:1', interval: '1s' }]).checks![0];
  checker.sync(Array.from({ length: 10 }, (_, i) => ({ id: `d${i}`, checks: [spec] })));
  await clock.advance(5000); // five intervals: every check is due again while its first run still hangs
  assert.is(most, 3, 'at most three at once');
  assert.is(runs, 3, 'the others wait; no check runs twice at once');
  while (release.length > 0) {
    release.shift()!();
    await clock.advance(0);
  }
  assert.is(runs, 10, 'each waiting check ran once its turn came');
  assert.is(most, 3);
  checker.stop();
});

function seenByBetaOf(id: string): string | undefined {
  return site.agents.get('beta')!.agent.directory.device('alpha', id)?.health?.status;
}

test.run();
