import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent } from '../src/agent/agent.js';
import { PeerHttpServer } from '../src/http/peer-server.js';
import { MdnsDiscovery } from '../src/mdns/mdns-discovery.js';
import { MemoryProfileSource } from '../src/profiles/source.js';
import { HttpPeerClient } from '../src/transport/http-peer-client.js';
import { systemClock } from '../src/util/clock.js';
import { memoryLogger } from '../src/util/logger.js';
import { device } from './helpers/sim.js';
import { runHerald, testGroupPort } from './helpers/process.js';
import { missingRequirement, testIf } from './helpers/requirements.js';
import { execFileSync } from 'node:child_process';

const zeroconfMissing = missingRequirement([
  {
    what: 'python3-zeroconf (Debian package, /usr/bin/python3)',
    ok: () => {
      execFileSync('/usr/bin/python3', ['-c', 'import zeroconf'], { stdio: 'ignore' });
      return true;
    },
  },
]);

/** Runs python-zeroconf's browser for a service type on loopback; events arrive as parsed JSON lines. */
function browse(type: string, seconds: number) {
  const proc = spawn('/usr/bin/python3', ['test/helpers/zeroconf_browse.py', '127.0.0.1', type, String(seconds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: { event: string; name?: string; txt?: Record<string, string>; port?: number; addresses?: string[] }[] =
    [];
  let rest = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const l of lines) if (l.trim()) events.push(JSON.parse(l) as (typeof events)[number]);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    events,
    stop: async () => {
      proc.kill();
      await exited;
    },
  };
}

async function until<T>(probe: () => T | undefined | false, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

testIf(
  test,
  zeroconfMissing,
  'python-zeroconf sees the agent with its TXT, the TXT version change, its devices, and its goodbye',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-mdns-'));
    const site = `zc${process.pid}`;
    await cp('device-profiles', join(dir, 'profiles'), { recursive: true });
    const herald = browse('_herald._tcp.local.', 30);
    const http = browse('_http._tcp.local.', 30);
    await until(() => herald.events.length > 0 && http.events.length > 0, 10_000, 'browsers ready');
    const agent = runHerald([
      'agent',
      '--name',
      'zc-agent',
      '--site',
      site,
      '--group',
      `239.255.70.70:${testGroupPort()}`,
      '--api',
      '127.0.0.1:0',
      '--peer-port',
      '0',
      '--log-format',
      'json',
      '--profiles',
      join(dir, 'profiles'),
      '--mdns-devices',
      'true',
    ]);
    try {
      const started = await agent.waitFor(() => agent.logs().find((l) => l.msg === 'agent started'), 8000, 'agent');
      const instance = `zc-agent@${site}._herald._tcp.local.`;
      const added = await until(
        () => herald.events.find((e) => e.event === 'Added' && e.name === instance),
        10_000,
        'zeroconf sees _herald._tcp',
      );
      assert.equal(
        { ...added.txt, inc: 'x' },
        { txtvers: '1', name: 'zc-agent', site, inc: 'x', ver: '1', path: '/v1/peer', fmt: '1' },
      );
      assert.is(added.port, started.peerPort);
      assert.equal(added.addresses, ['127.0.0.1'], 'the address of the configured interface only');
      const totalTxt = Object.entries(added.txt!).reduce((n, [k, v]) => n + 1 + k.length + 1 + v.length, 0);
      assert.ok(totalTxt <= 200, `TXT is ${totalTxt} bytes`);

      const climate = await until(
        () =>
          http.events.find((e) => e.event === 'Added' && /^Greenhouse climate sensor \(zc-agent\)/.test(e.name ?? '')),
        10_000,
        'device as _http._tcp',
      );
      assert.is(climate.txt!.device, 'greenhouse-climate');
      assert.is(climate.txt!.agent, 'zc-agent');
      assert.match(climate.txt!.caps, /temperature/);
      assert.is(climate.port, 8080);

      await writeFile(
        join(dir, 'profiles', 'lamp.yaml'),
        'id: lamp\nname: Lamp\ncapabilities:\n  - id: on\n    kind: property\n    type: switch\n',
      );
      const updated = await until(
        () => herald.events.find((e) => e.event === 'Updated' && e.name === instance && e.txt?.ver === '2'),
        10_000,
        'TXT version 2',
      );
      assert.is(updated.txt!.inc, added.txt!.inc);

      await agent.stop('SIGTERM');
      await until(
        () => herald.events.find((e) => e.event === 'Removed' && e.name === instance),
        10_000,
        'goodbye seen',
      );
      await until(
        () => http.events.find((e) => e.event === 'Removed' && /Greenhouse climate sensor/.test(e.name ?? '')),
        10_000,
        'device goodbye seen',
      );
    } finally {
      await agent.stop('SIGKILL');
      await herald.stop();
      await http.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test('with --discovery mdns a cluster converges with no Herald datagram at all', async () => {
  const clock = systemClock();
  const site = `mdns${process.pid}`;
  const agents: Agent[] = [];
  const sources: MemoryProfileSource[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const source = new MemoryProfileSource([device(`m${i}-a`), device(`m${i}-b`)]);
      sources.push(source);
      const agent = new Agent(
        {
          clock,
          random: Math.random,
          logger: memoryLogger('warn').logger,
          profiles: source,
          peers: new HttpPeerClient(),
          peerListener: (service) => {
            const server = new PeerHttpServer(service, { host: '127.0.0.1', port: 0 });
            return { start: async () => (await server.start()).port, stop: () => server.stop() };
          },
          extensions: [new MdnsDiscovery({ interfaceAddress: '127.0.0.1', browse: true, publishDevices: false })],
        },
        {
          name: `m${i}`,
          site,
          incarnation: clock.now() * 10 + i,
          address: '127.0.0.1',
          host: `m${i}`,
          heartbeatMs: 500,
          livenessPeriodMs: 500,
          api: null,
        },
      );
      await agent.start();
      agents.push(agent);
    }
    const all = () => agents.every((a) => a.directory.devices().length === 8);
    await until(all, 10_000, 'every agent holds the 8 devices');
    sources[2].set([device('m2-a'), device('m2-c')]);
    await agents[2].reload('test');
    const t0 = Date.now();
    await until(() => agents.every((a) => a.directory.device('m2', 'm2-c')), 5000, 'the change everywhere');
    const took = Date.now() - t0;
    assert.ok(took < 2000, `a change reached every agent over mDNS in ${took} ms`);
    for (const a of agents) {
      assert.is(
        a.metrics.announcementsSent.get({ type: 'heartbeat' }) + a.metrics.announcementsSent.get({ type: 'announce' }),
        0,
        'no Herald datagram',
      );
      assert.ok(a.metrics.gapsDetected.get({ signal: 'mdns' }) > 0 || a === agents[2], 'mDNS adverts drove catch-up');
    }
    // A crashed agent (peer endpoint gone, no goodbye at all, not even mDNS's) is lost through probes.
    await agents[3].stop({ goodbye: false });
    await until(() => agents.slice(0, 3).every((a) => a.directory.held('m3')?.state === 'lost'), 5000, 'm3 lost');
    // A clean stop sends mDNS goodbyes: left at once.
    await agents[2].stop();
    await until(() => agents.slice(0, 2).every((a) => a.directory.held('m2')?.state === 'left'), 3000, 'm2 left');
  } finally {
    for (const a of agents) await a.stop();
  }
});

test.run();
