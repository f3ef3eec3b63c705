import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald, testGroupPort } from '../helpers/process.js';
import { hasCommand, missingRequirement, testIf } from '../helpers/requirements.js';

const test = suite('sd_notify with NOTIFY_SOCKET pointing nowhere');

const pythonMissing = missingRequirement([{ what: 'python3 (the sd_notify helper)', ok: () => hasCommand('python3') }]);

/**
 * Attack on the sd_notify helper: NOTIFY_SOCKET names a path where nothing listens. The agent must run and
 * stop as usual, and say so without a warning per message: each watchdog ping (every 100 ms here, half of
 * WATCHDOG_USEC) and each STATUS failed again, and every failure was logged (about 5 a second here).
 */
testIf(test, pythonMissing, 'runs, stops cleanly, and warns about the socket at most once a minute', async () => {
  const agent = runHerald(
    [
      'agent',
      ...['--name', 'nowhere', '--site', `nowhere${process.pid}`, '--group', `239.255.70.71:${testGroupPort()}`],
      ...['--api', '127.0.0.1:0', '--peer-port', '0', '--discovery', 'multicast'],
      ...['--profiles', 'device-profiles', '--log-format', 'json'],
    ],
    { env: { NOTIFY_SOCKET: `/tmp/herald-nowhere-${process.pid}.sock`, WATCHDOG_USEC: '200000' } },
  );
  try {
    await agent.waitFor(() => agent.logs().some((l) => l.msg === 'agent started'), 8000, 'agent started');
    await new Promise((r) => setTimeout(r, 2000));
    const warned = agent.logs().filter((l) => l.msg === 'sd_notify helper');
    assert.ok(warned.length >= 1, 'the failure is said');
    assert.ok(warned.length <= 1, `${warned.length} warnings in 2 s`);
    await agent.stop('SIGTERM');
    assert.is(await agent.exit(), 0);
  } finally {
    await agent.stop('SIGKILL').catch(() => {});
  }
});

test.run();
