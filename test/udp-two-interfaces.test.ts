import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { netnsMissing } from './helpers/netns.js';
import { testGroupPort } from './helpers/process.js';
import { testIf } from './helpers/requirements.js';

const run = promisify(execFile);
const ns = `herald-a12-${process.pid}`;

test.after.each(async () => {
  await run('ip', ['netns', 'del', ns]).catch(() => {});
});

/*
 * attack12. Linux hands a datagram for a group to every socket bound to the group and port once any socket of the
 * host joined the group on the interface it arrived on (IP_MULTICAST_ALL, on by default; Node cannot turn it off).
 * So the group socket of an agent pinned to one interface heard the site traffic of every other interface on
 * which another agent of the host (or any program) joined the same group: a host with one agent per LAN, the
 * same --group on both (the default), saw both LANs' agents, though its unicast from off the link is dropped.
 * Both agents run in a namespace of their own: one on lo (127.0.0.1), one on a veth end, 10.99.1.1/24.
 */
testIf(test, netnsMissing(), 'an agent hears no multicast that reached the host on another interface', async () => {
  await run('ip', ['netns', 'add', ns]);
  const inNs = (...args: string[]) => run('ip', ['netns', 'exec', ns, ...args]);
  await inNs('ip', 'link', 'set', 'lo', 'up');
  await inNs('ip', 'link', 'add', 'a12a', 'type', 'veth', 'peer', 'name', 'a12b');
  await inNs('ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'a12a');
  await inNs('ip', 'addr', 'add', '10.99.1.1/24', 'dev', 'a12b');
  await inNs('ip', 'link', 'set', 'a12a', 'up');
  await inNs('ip', 'link', 'set', 'a12b', 'up');
  const script = 'dist/test/helpers/group-on-two-interfaces.js';
  const { stdout } = await inNs(process.execPath, script, '127.0.0.1', '10.99.1.1', String(testGroupPort()));
  const report = JSON.parse(stdout) as Record<string, { heard: string[]; offLink: string[] }>;
  const lo = report['127.0.0.1'];
  const veth = report['10.99.1.1'];
  assert.ok(lo.heard.includes('hello from 127.0.0.1 from 127.0.0.1'), `its own, on lo: ${JSON.stringify(report)}`);
  assert.ok(veth.heard.includes('hello from 10.99.1.1 from 10.99.1.1'), `its own: ${JSON.stringify(report)}`);
  assert.equal(
    lo.heard.filter((h) => h.includes('10.99.1.1')),
    [],
    'the agent on lo heard the other LAN',
  );
  assert.equal(
    veth.heard.filter((h) => h.includes('127.0.0.1')),
    [],
    'the agent on the veth heard lo',
  );
  assert.ok(veth.offLink.includes('127.0.0.1'), `counted as off the link: ${JSON.stringify(report)}`);
});

test.run();
