import { createSocket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald, testGroupPort, type Running } from './helpers/process.js';

const running: Running[] = [];
test.after.each(async () => {
  for (const r of running.splice(0)) await r.stop('SIGKILL');
});

/*
 * attack12. The agents of a host share the group's UDP port (SO_REUSEADDR); a program that binds the port without
 * sharing it keeps every agent out. `herald agent` exited 69, as it should, but said "cannot listen on
 * 239.255.70.70:PORT: EADDRINUSE (another agent running? choose --api or --peer-port)": neither flag moves the
 * group, and another agent is never the cause. Under systemd (Restart=on-failure, 69 not in
 * RestartPreventExitStatus) the unit restarts until the port is free, and the journal must say what holds it up.
 */
test('herald agent on a group port another program holds: exit 69, one line naming the group port and --group', async () => {
  const port = testGroupPort();
  const blocker = createSocket({ type: 'udp4' });
  await new Promise<void>((r) => blocker.bind(port, '0.0.0.0', r));
  try {
    const agent = runHerald([
      'agent',
      '--profiles',
      'device-profiles',
      '--api',
      '127.0.0.1:0',
      '--peer-port',
      '0',
      '--group',
      `239.255.70.70:${port}`,
      '--site',
      `ports-${process.pid}`,
      '--name',
      'ports-agent',
      '--log-format',
      'json',
      '--interface',
      'lo',
    ]);
    running.push(agent);
    assert.is(await agent.exit(), 69, agent.stderr.join('\n'));
    const err = agent.stderr.join('\n');
    assert.match(err, `group port 239.255.70.70:${port}: EADDRINUSE`);
    assert.match(err, /--group/);
    assert.not.match(err, /--api or --peer-port/, 'advice that does not move the group');
    assert.not.match(err, /\n\s+at /, 'no stack trace');
  } finally {
    blocker.close();
  }
});

test.run();
