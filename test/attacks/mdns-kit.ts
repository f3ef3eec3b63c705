import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { runHerald, type Running } from '../helpers/process.js';

/** A keyed agent process on loopback with mDNS as its only discovery, and its local API. */
export interface LiveAgent {
  name: string;
  run: Running;
  api: string;
  peerPort: number;
  incarnation: number;
  agents(): Promise<{ name: string; state: string; incarnation: number; peerPort?: number; mdns?: unknown }[]>;
  metric(name: string, labels: string): Promise<number>;
}

export async function keyFile(dir: string): Promise<string> {
  const file = join(dir, `key-${randomBytes(3).toString('hex')}`);
  await writeFile(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return file;
}

export async function startAgent(dir: string, name: string, site: string, key: string): Promise<LiveAgent> {
  const profiles = join(dir, `profiles-${name}`);
  await mkdir(profiles, { recursive: true });
  await writeFile(
    join(profiles, 'lamp.yaml'),
    `id: lamp-${name}\nname: Lamp\ncapabilities:\n  - id: on\n    kind: property\n`,
  );
  const run = runHerald([
    'agent',
    ...['--name', name, '--site', site, '--discovery', 'mdns', '--interface', 'lo', '--key-file', key],
    ...['--api', '127.0.0.1:0', '--peer-port', '0', '--log-format', 'json', '--profiles', profiles],
    ...['--state-dir', join(dir, `state-${name}`)],
  ]);
  const started = await run.waitFor(() => run.logs().find((l) => l.msg === 'agent started'), 10_000, `${name} up`);
  const api = `http://${started.api as string}`;
  return {
    name,
    run,
    api,
    peerPort: started.peerPort as number,
    incarnation: started.incarnation as number,
    agents: async () => ((await (await fetch(`${api}/v1/agents`)).json()) as { agents: [] }).agents,
    metric: async (metric, labels) => {
      const text = await (await fetch(`${api}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(labels));
      return line ? Number(line.split(' ').pop()) : 0;
    },
  };
}

export async function until<T>(probe: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Two keyed agents that see each other alive; everything made is removed by `close`. */
export async function keyedPair(tag: string) {
  const dir = await mkdtemp(join(tmpdir(), `herald-${tag}-`));
  const site = `${tag}${process.pid}${randomBytes(2).toString('hex')}`;
  const key = await keyFile(dir);
  const agents: LiveAgent[] = [];
  const close = async () => {
    for (const a of agents) await a.run.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    agents.push(await startAgent(dir, 'a1', site, key));
    agents.push(await startAgent(dir, 'b1', site, key));
    const [a, b] = agents;
    await until(
      async () => (await a.agents()).find((x) => x.name === 'b1' && x.state === 'alive'),
      10_000,
      'a1 sees b1',
    );
    await until(
      async () => (await b.agents()).find((x) => x.name === 'a1' && x.state === 'alive'),
      10_000,
      'b1 sees a1',
    );
    return { dir, site, key, a, b, agents, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** An mDNS sender on loopback, as an attacker on the LAN would be: port 5353 unless told otherwise. */
export async function attacker(
  port = 5353,
): Promise<{ send(p: dnsPacket.Packet, to?: string): Promise<void>; socket: Socket; close(): void }> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  // Bound to the group, as a responder is, so that it also hears what the agents multicast.
  await new Promise<void>((resolve) => socket.bind(port, '224.0.0.251', () => resolve()));
  socket.addMembership('224.0.0.251', '127.0.0.1');
  socket.setMulticastInterface('127.0.0.1');
  socket.setMulticastLoopback(true);
  return {
    socket,
    send: (p, to = '224.0.0.251') =>
      new Promise((resolve, reject) =>
        socket.send(dnsPacket.encode(p), 5353, to, (err) => (err ? reject(err) : resolve())),
      ),
    close: () => socket.close(),
  };
}

/** A Herald advert for `name@site` as another agent would send it, with the TXT fields given. */
export function forgedAdvert(
  name: string,
  site: string,
  txt: Record<string, string>,
  port: number,
  ttl = 4500,
): dnsPacket.Packet {
  const instance = `${name}@${site}._herald._tcp.local`;
  const data = Object.entries({ txtvers: '1', name, site, path: '/v1/peer', fmt: '1', ...txt }).map(([k, v]) =>
    Buffer.from(`${k}=${v}`),
  );
  return {
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    answers: [
      { name: '_herald._tcp.local', type: 'PTR', ttl, data: instance },
      {
        name: instance,
        type: 'SRV',
        ttl: ttl && 120,
        data: { port, target: `${name}-herald.local`, priority: 0, weight: 0 },
      },
      { name: instance, type: 'TXT', ttl, data },
      { name: `${name}-herald.local`, type: 'A', ttl: ttl && 120, data: '127.0.0.1' },
    ],
  };
}
