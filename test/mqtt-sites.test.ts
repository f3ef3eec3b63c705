import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mosquitto, mosquittoMissing } from './helpers/mosquitto.js';
import { mqttAgentArgs } from './helpers/mqtt-agent.js';
import { runHerald, testGroupPort, type Running } from './helpers/process.js';
import { hasCommand, testIf } from './helpers/requirements.js';
import { retainedOnly } from './helpers/retained.js';
import { TcpRelay } from './helpers/tcp-proxy.js';
import { until } from './helpers/until.js';

/**
 * Two sites, each with its own Mosquitto, joined by a Mosquitto bridge as docs/mqtt.md's recipe
 * says (`topic herald/<site>/# in|out 1`, a persistent bridge session), the link running through a relay the
 * test can cut. Site B imports site A.
 */
const test = suite('MQTT: two sites on two bridged brokers');
const missing =
  mosquittoMissing() ?? (hasCommand('mosquitto_sub') ? undefined : 'mosquitto_sub (Debian package mosquitto-clients)');

interface DeviceList {
  devices: { agent: string; id: string; site: string }[];
  count: number;
}

async function devicesOf(api: string, query: string): Promise<string[]> {
  const res = await request(`${api}/v1/devices?${query}`);
  const body = (await res.body.json()) as DeviceList;
  return body.devices.map((d) => `${d.agent.split('@')[0]}/${d.id}`).sort();
}

testIf(
  test,
  missing,
  'a change on A is imported on B; an 8 s cut while A changes and loses an agent leaves B exactly right',
  async () => {
    const a = new Mosquitto();
    await a.start();
    const relay = new TcpRelay(a.port);
    await relay.open();
    const b = new Mosquitto([
      'allow_anonymous true',
      'connection site-a',
      `address 127.0.0.1:${relay.port}`,
      // Each site's retained state flows one way, from the broker its agents publish to: with
      // `herald/# both`, a reconnect sends B's stale copies back to A and resurrects what A cleared.
      'topic herald/sa/# in 1',
      'topic herald/sb/# out 1',
      'cleansession false',
      // base and cap of the bridge's reconnect backoff: the link is retried within 2 s of its return
      'restart_timeout 1 2',
      'try_private true',
      'notifications false',
    ]);
    const root = await mkdtemp(join(tmpdir(), 'herald-mqtt-sites-'));
    const running: Running[] = [];
    try {
      await b.start();
      const group = `239.255.70.70:${testGroupPort()}`;
      for (const who of ['pa1', 'pa2']) await cp('device-profiles', join(root, who), { recursive: true });
      const start = async (name: string, site: string, url: string, profiles: string, extra: string[] = []) => {
        const proc = runHerald(
          mqttAgentArgs({ name, site, url, profiles, extra, group: site === 'sa' ? group : undefined }),
        );
        running.push(proc);
        const started = await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 10_000);
        return { proc, api: `http://${String(started.api)}` };
      };
      const pa1 = await start('pa1', 'sa', a.url, join(root, 'pa1'));
      const pa2 = await start('pa2', 'sa', a.url, join(root, 'pa2'));
      const pb1 = await start('pb1', 'sb', b.url, 'device-profiles', ['--mqtt-import', 'sa']);
      const onA = async () => [...(await devicesOf(pa1.api, 'agent=pa1')), ...(await devicesOf(pa2.api, 'agent=pa2'))];
      const inStep = async (want: string[]) => (await devicesOf(pb1.api, 'site=sa')).join() === want.sort().join();
      await until(async () => inStep(await onA()), 15_000, "site A's twelve devices imported on B");

      await rm(join(root, 'pa1', 'office-printer.yaml'));
      await until(async () => (await onA()).length === 11, 5_000, 'A reloaded');
      await until(async () => inStep(await onA()), 5_000, 'the change on A imported on B');

      // The link drops for 8 s (several of the bridge's 1-2 s reconnects refused; nothing here turns on a longer
      // cut); meanwhile A removes a device and loses an agent (kill -9: its will).
      await relay.cut();
      const cutAt = Date.now();
      await rm(join(root, 'pa1', 'gate-camera.yaml'));
      pa2.proc.proc.kill('SIGKILL');
      const final = await until(
        async () => {
          const left = await devicesOf(pa1.api, 'agent=pa1');
          return left.length === 4 ? left : undefined;
        },
        5_000,
        'A changed',
      );
      await new Promise((r) => setTimeout(r, 3_000));
      assert.is((await devicesOf(pb1.api, 'site=sa')).length, 11, 'while the link is down, B keeps what it last heard');
      await new Promise((r) => setTimeout(r, Math.max(0, 8_000 - (Date.now() - cutAt))));
      await relay.open();

      await until(() => inStep(final), 30_000, 'B exactly right after the link returns').catch(async (err: unknown) => {
        const onB = await devicesOf(pb1.api, 'site=sa');
        const ra = [...(await retainedOnly(a.port, 'herald/sa/#')).keys()].sort();
        const rb = [...(await retainedOnly(b.port, 'herald/sa/#')).keys()].sort();
        const logs = pb1.proc.stdout
          .filter((l) => /mqtt|MQTT/.test(l))
          .slice(-12)
          .join('\n');
        throw new Error(
          `${logs}\nB holds ${onB.join(' ')}, want ${final.join(' ')}\nA: ${ra.join(' ')}\nB: ${rb.join(' ')}`,
          {
            cause: err,
          },
        );
      });
      const retainedA = await retainedOnly(a.port, 'herald/sa/#');
      await until(
        async () => {
          const retainedB = await retainedOnly(b.port, 'herald/sa/#');
          return [...retainedB].sort().join('\n') === [...retainedA].sort().join('\n');
        },
        5_000,
        "B's broker retains exactly what A's does under herald/sa/#",
      );
    } finally {
      for (const p of running) await p.stop('SIGKILL');
      await relay.cut();
      await b.destroy();
      await a.destroy();
      await rm(root, { recursive: true, force: true });
    }
  },
);

test.run();
