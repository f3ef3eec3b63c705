import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey } from '../../src/security/cluster-key.js';
import { eventually, NetnsSite, netnsMissing, Testbed, type Host } from '../helpers/netns.js';
import { testIf } from '../helpers/requirements.js';

/**
 * Issue 16 item 15 with real agent processes and a cluster key, in network namespaces: an attacker on
 * the LAN captures a signed heartbeat of h1 and replays it within the envelope's two-minute window,
 * from its own address (h1's address must not move) and, once h1 has crashed, from h1's address (h1
 * must still be marked lost).
 */
const HEARTBEAT_MS = 500;
const test = suite('replayed signed heartbeats (network namespaces)');
const missing = netnsMissing();
const cleanups: (() => Promise<void>)[] = [];

test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** Node code run inside a namespace: capture one heartbeat of `from`, or replay a captured one. */
const CAPTURE = `const s=require('dgram').createSocket({type:'udp4',reuseAddr:true});
s.on('message',(m,r)=>{if(r.address===process.argv[2]&&m[3]===2){require('fs').writeFileSync(process.argv[3],m);process.exit(0)}});
s.bind(7770,()=>s.addMembership('239.255.70.70',process.argv[1]));setTimeout(()=>process.exit(1),5000);`;
const REPLAY = `const s=require('dgram').createSocket('udp4');const m=require('fs').readFileSync(process.argv[2]);
s.bind(0,process.argv[1],()=>{s.setMulticastInterface(process.argv[1]);s.setMulticastTTL(1);
const t=setInterval(()=>s.send(m,7770,'239.255.70.70'),200);setTimeout(()=>{clearInterval(t);s.close()},Number(process.argv[3]))});`;

async function agentRow(bed: Testbed, viewer: Host, name: string): Promise<{ state: string; address?: string }> {
  const { agents } = (await bed.get(viewer, '/v1/agents')) as { agents: { name: string; state: string }[] };
  return agents.find((a) => a.name === name)!;
}

testIf(test, missing, "a replayed signed heartbeat moves no address and keeps no crashed agent 'heard'", async () => {
  const bed = new Testbed();
  cleanups.push(() => bed.destroy());
  const root = await mkdtemp(join(tmpdir(), 'herald-replay-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const keyFile = join(root, 'cluster.key');
  await writeFile(keyFile, `${generateKey()}\n`, { mode: 0o600 });
  await bed.create(3);
  const [h1, h2, h3] = bed.hosts as [Host, Host, Host];
  const site = new NetnsSite(bed, root, ['--heartbeat-ms', String(HEARTBEAT_MS), '--key-file', keyFile]);
  cleanups.push(() => site.stopAll());
  for (const h of [h1, h2]) await site.writeDevice(h, `${h.name}-sensor`);
  for (const h of [h1, h2]) await site.start(h);
  await site.allSee(['h1/h1-sensor', 'h2/h2-sensor'], 10_000, 'h1 and h2 see each other');

  // h3 is the attacker: it captures one of h1's heartbeats and replays it from its own address.
  const captured = join(root, 'heartbeat.bin');
  await bed.exec(h3, process.execPath, '-e', CAPTURE, h3.address, h1.address, captured);
  assert.ok((await readFile(captured)).length > 23, 'a signed heartbeat captured');
  const replay = bed.exec(h3, process.execPath, '-e', REPLAY, h3.address, captured, '3000');
  const addresses = new Set<string | undefined>();
  for (let t = 0; t < 2800; t += 100) {
    addresses.add((await agentRow(bed, h2, 'h1')).address);
    await new Promise((r) => setTimeout(r, 100));
  }
  await replay;
  assert.equal([...addresses], [h1.address], "h1's address never moved to the replayer's");
  assert.is((await agentRow(bed, h2, 'h1')).state, 'alive');

  // h1 crashes; the attacker replays its heartbeat from h1's own address (the host is still there).
  await site.agents.get('h1')!.proc.stop('SIGKILL');
  const replaying = bed.exec(h1, process.execPath, '-e', REPLAY, h1.address, captured, '8000');
  const lostAfter = await eventually(
    'h1 lost on h2 despite the replays',
    async () => {
      return (await agentRow(bed, h2, 'h1')).state === 'lost';
    },
    8000,
  );
  await replaying;
  console.log(`    h1 lost ${lostAfter} ms after its crash, replays of its heartbeat notwithstanding`);
  assert.ok(lostAfter < 3.5 * HEARTBEAT_MS + 1500, `lost after ${lostAfter} ms`);
  const metrics = (await bed.exec(h2, 'curl', '-sS', 'http://127.0.0.1:7755/metrics')).stdout;
  assert.match(metrics, /herald_announcements_ignored_total\{reason="replay"\} [1-9]/, 'the replays reached h2');
});

test.run();
