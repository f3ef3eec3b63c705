import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nextIncarnation } from '../src/agent/identity.js';
import { awaitInterface, followInterfaceAddress, resolveInterface } from '../src/agent/interfaces.js';
import { resolveConfig } from '../src/config/resolve.js';

let dir: string;
test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'herald-config-'));
});
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('flags beat the environment, which beats the file, which beats the defaults', async () => {
  const file = join(dir, 'herald.yaml');
  await writeFile(file, 'site: from-file\nname: from-file\nheartbeat-ms: 700\npeerPort: 9000\n');
  const c = await resolveConfig({
    flags: { name: 'from-flag' },
    env: { HERALD_NAME: 'from-env', HERALD_SITE: 'from-env' },
    configFile: file,
  });
  assert.is(c.name, 'from-flag');
  assert.is(c.site, 'from-env');
  assert.is(c.heartbeatMs, 700);
  assert.is(c.peerPort, 9000);
  assert.equal(c.api, { host: '127.0.0.1', port: 7755 });
  assert.is(c.interface, 'lo', 'loopback unless a deployment names its LAN');
});

test("the state dir defaults to systemd's STATE_DIRECTORY", async () => {
  const c = await resolveConfig({ flags: {}, env: { STATE_DIRECTORY: '/var/lib/herald' } });
  assert.is(c.stateDir, '/var/lib/herald');
});

test('the incarnation grows on every start, even when the clock goes back', async () => {
  const a = await nextIncarnation(dir, 5_000);
  const b = await nextIncarnation(dir, 4_000);
  const c = await nextIncarnation(dir, 9_000);
  assert.equal([a, b, c], [5_000, 5_001, 9_000]);
});

test('interfaces are found by name or address, with a list of what exists otherwise', () => {
  assert.equal(resolveInterface('lo'), { name: 'lo', address: '127.0.0.1' });
  assert.equal(resolveInterface('127.0.0.1'), { name: 'lo', address: '127.0.0.1' });
  assert.throws(() => resolveInterface('wlan9'), /no interface 'wlan9'.*lo \(127\.0\.0\.1\)/);
});

test('an interface that is up without an address yet is waited for; an unknown one fails at once', async () => {
  let calls = 0;
  const waits: string[] = [];
  const later = () => {
    calls += 1;
    const eth1 =
      calls < 3
        ? []
        : [
            {
              address: '10.1.2.3',
              family: 'IPv4',
              internal: false,
              netmask: '255.255.255.0',
              mac: '00:00:00:00:00:01',
              cidr: '10.1.2.3/24',
            },
          ];
    return {
      lo: [
        {
          address: '127.0.0.1',
          family: 'IPv4',
          internal: true,
          netmask: '255.0.0.0',
          mac: '00:00:00:00:00:00',
          cidr: '127.0.0.1/8',
        },
      ],
      eth1,
    } as never;
  };
  const found = await awaitInterface('eth1', { onWait: (d) => waits.push(d), intervalMs: 5, interfaces: later });
  assert.equal(found, { name: 'eth1', address: '10.1.2.3' });
  assert.equal(waits, ["interface 'eth1' has no IPv4 address yet; waiting for it"], 'said once');
  let threw = false;
  try {
    await awaitInterface('wlan9', { onWait: () => {}, interfaces: later });
  } catch (err) {
    threw = /no interface 'wlan9'/.test((err as Error).message);
  }
  assert.ok(threw);
});

test('an interface given by name is followed to a new address, once the old one is gone; one given by address is not', async () => {
  const v4 = (address: string) => ({
    address,
    family: 'IPv4',
    internal: false,
    netmask: '255.255.255.0',
    mac: '00:00:00:00:00:01',
    cidr: `${address}/24`,
  });
  let eth1 = [v4('10.1.2.3')];
  const list = () => ({ eth1 }) as never;
  const seen: string[] = [];
  const follower = followInterfaceAddress('eth1', '10.1.2.3', {
    intervalMs: 5,
    interfaces: list,
    onChange: (next) => seen.push(next.address),
  });
  const pinned = followInterfaceAddress('10.1.2.3', '10.1.2.3', {
    intervalMs: 5,
    interfaces: list,
    onChange: (next) => seen.push(`pinned ${next.address}`),
  });
  const tick = () => new Promise((r) => setTimeout(r, 30));
  await tick();
  eth1 = [v4('10.1.2.3'), v4('10.1.2.99')]; // the new lease first: the address in use is kept while it is there
  await tick();
  assert.equal(seen, []);
  eth1 = []; // between the two: nothing to follow yet
  await tick();
  assert.equal(seen, []);
  eth1 = [v4('10.1.2.99')];
  await tick();
  assert.is(seen[0], '10.1.2.99');
  follower.moved('10.1.2.99');
  const count = seen.length;
  await tick();
  assert.is(seen.length, count, 'once moved, quiet again');
  assert.not.ok(seen.some((s) => s.startsWith('pinned')));
  follower.stop();
  pinned.stop();
});

test.run();
