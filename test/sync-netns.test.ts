import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsMissing, Testbed, type Host } from './helpers/netns.js';
import { runHerald, type Running } from './helpers/process.js';
import { testIf } from './helpers/requirements.js';

/**
 * Five hosts in network namespaces on one bridge, one agent process each, 30 % of their multicast
 * datagrams dropped by nftables in the kernel. What a site looks like, on one machine.
 */
const HEARTBEAT_MS = 500;
const test = suite('sync across hosts (network namespaces)');
const missing = netnsMissing();
const bed = new Testbed();
let root: string;
const agents = new Map<string, { host: Host; proc: Running; profiles: string }>();

test.after(async () => {
  for (const a of agents.values()) await a.proc.stop('SIGKILL');
  await bed.destroy();
  if (root) await rm(root, { recursive: true, force: true });
});

async function writeDevice(profiles: string, id: string): Promise<void> {
  await writeFile(join(profiles, `${id}.yaml`), `id: ${id}\nname: Device ${id}\ncapabilities:\n  - id: value\n    kind: property\n    type: temperature\n    endpoint: http://{address}:8080/${id}\n`);
}

async function startAgent(host: Host): Promise<void> {
  const profiles = join(root, host.name, 'profiles');
  const proc = runHerald(['agent', '--name', host.name, '--site', 'netns', '--interface', host.veth, '--profiles', profiles,
    '--state-dir', join(root, host.name, 'state'), '--heartbeat-ms', String(HEARTBEAT_MS), '--log-format', 'json'], { prefix: bed.prefix(host) });
  await proc.waitFor(() => proc.logs().find((l) => l.msg === 'agent started'), 10_000, `${host.name} started`);
  agents.set(host.name, { host, proc, profiles });
}

async function keys(host: Host): Promise<string[]> {
  return ((await bed.get(host, '/v1/devices')).devices as { agent: string; id: string }[]).map((d) => `${d.agent}/${d.id}`);
}

async function stateOf(viewer: Host, agent: string): Promise<string | undefined> {
  return ((await bed.get(viewer, '/v1/agents')).agents as { name: string; state: string }[]).find((a) => a.name === agent)?.state;
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await check()) return Date.now() - t0;
    } catch {
      // an agent that is restarting does not answer yet
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(): Host[] {
  return [...agents.values()].filter((a) => a.proc.proc.exitCode === null && a.proc.proc.signalCode === null).map((a) => a.host);
}

async function allSee(expected: string[], timeoutMs: number, what: string): Promise<number> {
  const want = [...expected].sort().join();
  return eventually(what, async () => {
    for (const h of alive()) if ((await keys(h)).sort().join() !== want) return false;
    return true;
  }, timeoutMs);
}

testIf(test, missing, 'five hosts at 30 % loss converge, follow changes, detect a crash, take back a restart, heal a partition', async () => {
  root = await mkdtemp(join(tmpdir(), 'herald-netns-'));
  const hosts = await bed.create(5);
  for (const h of hosts) {
    await mkdir(join(root, h.name, 'profiles'), { recursive: true });
    await writeDevice(join(root, h.name, 'profiles'), `${h.name}-sensor`);
    await writeDevice(join(root, h.name, 'profiles'), `${h.name}-relay`);
    await bed.dropIncoming(h, 7770, 30);
  }
  for (const h of hosts) await startAgent(h);
  let expected = hosts.flatMap((h) => [`${h.name}/${h.name}-sensor`, `${h.name}/${h.name}-relay`]);
  await allSee(expected, 10_000, 'all five hosts list all ten devices');
  const sample = ((await bed.get(hosts[0]!, '/v1/devices/h3/h3-sensor')) as { capabilities: { endpoint: string }[] }).capabilities[0]!.endpoint;
  assert.is(sample, 'http://10.77.0.3:8080/h3-sensor', 'endpoints carry the origin host\'s LAN address');

  // A change on h2 reaches every host despite the loss.
  await writeDevice(agents.get('h2')!.profiles, 'h2-camera');
  expected = [...expected, 'h2/h2-camera'];
  const took = await allSee(expected, 5000, 'h2-camera on every host');
  console.log(`    change on every host after ${took} ms (30 % loss, heartbeat ${HEARTBEAT_MS} ms)`);

  // h3 crashes: lost on every other host within 3.5 heartbeats (plus polling slack).
  const h3 = hosts[2]!;
  await agents.get('h3')!.proc.stop('SIGKILL');
  const lostAfter = await eventually('h3 lost everywhere', async () => {
    for (const h of alive()) if ((await stateOf(h, 'h3')) !== 'lost') return false;
    return true;
  }, 5000);
  assert.ok(lostAfter <= 3.5 * HEARTBEAT_MS + 700, `h3 lost everywhere ${lostAfter} ms after the crash`);

  // h3 restarts with a different device set: its old devices vanish everywhere (no ghosts).
  await rm(join(agents.get('h3')!.profiles, 'h3-relay.yaml'));
  await writeDevice(agents.get('h3')!.profiles, 'h3-meter');
  await startAgent(h3);
  expected = expected.filter((k) => k !== 'h3/h3-relay').concat('h3/h3-meter');
  await allSee(expected, 6000, 'h3 back with its new set, and no ghost');

  // h1 is cut off; changes happen on both sides; after healing every host is right again.
  const h1 = hosts[0]!;
  await bed.isolate(h1);
  await eventually('h1 lost on the others', async () => {
    for (const h of alive()) if (h !== h1 && (await stateOf(h, 'h1')) !== 'lost') return false;
    return true;
  }, 5000);
  await writeDevice(agents.get('h1')!.profiles, 'h1-lamp');
  await rm(join(agents.get('h4')!.profiles, 'h4-relay.yaml'));
  await new Promise((r) => setTimeout(r, 1000));
  await bed.heal(h1);
  expected = expected.filter((k) => k !== 'h4/h4-relay').concat('h1/h1-lamp');
  await allSee(expected, 8000, 'every host right after the partition healed');

  // h5 stops cleanly: left everywhere at once.
  await agents.get('h5')!.proc.stop('SIGTERM');
  await eventually('h5 left', async () => {
    for (const h of alive()) if ((await stateOf(h, 'h5')) !== 'left') return false;
    return true;
  }, 2000);
});

test.run();
