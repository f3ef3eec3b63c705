import '../helpers/no-unhandled.js';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runHerald } from '../helpers/process.js';
import { testIf } from '../helpers/requirements.js';
import { AttackSite, attackMissing } from './harness.js';

testIf(test, attackMissing(), 'issue 16.13: a DNS-rebinding Host header is refused by the loopback API', async () => {
  const site = await AttackSite.create({ agents: 1 });
  const [agent] = site.agents;
  try {
    const rebound = await site.api(agent, '/v1/devices', { host: 'evil.example:7755' });
    assert.is(rebound.status, 403, 'a page rebinding its name to 127.0.0.1 reads nothing');
    assert.match(rebound.body, /host-not-allowed/);
    for (const host of ['127.0.0.1:7755', 'localhost:7755', 'localhost', '[::1]:7755'])
      assert.is((await site.api(agent, '/v1/devices', { host })).status, 200, `Host ${host} answered`);
    assert.ok((await site.metric(agent, 'herald_invalid_input_total', 'reason="host-not-allowed"')) >= 1, 'counted');
  } finally {
    await site.destroy();
  }
});

testIf(
  test,
  attackMissing(),
  'issue 16.14: --api on a name that resolves beyond loopback needs the token',
  async () => {
    const site = await AttackSite.create({ agents: 1 });
    const [agent] = site.agents;
    // ip netns exec mounts /etc/netns/<ns>/hosts over /etc/hosts inside that namespace only.
    const etc = join('/etc/netns', agent.ns);
    try {
      await mkdir(etc, { recursive: true });
      await writeFile(join(etc, 'hosts'), `127.0.0.1 localhost\n${agent.address} 127.herald-test\n`);
      const args = ['agent', '--name', 'h1b', '--interface', agent.veth, '--api', '127.herald-test:7756'];
      const rest = ['--peer-port', '0', '--group', `239.255.70.70:${site.groupPort}`, '--discovery', 'multicast'];
      const profiles = ['--profiles', join(site.root, 'h1', 'profiles'), '--state-dir', join(site.root, 'h1b')];
      const refused = runHerald([...args, ...rest, ...profiles], { prefix: site.bed.prefix(agent) });
      const code = await Promise.race([refused.exit(), new Promise((r) => setTimeout(() => r('running'), 5000))]);
      if (code === 'running') await refused.stop('SIGKILL');
      assert.is(code, 64, `refused to start without a token (${String(code)}): ${refused.stderr.join('\n')}`);
      assert.match(
        refused.stderr.join('\n'),
        new RegExp(`beyond loopback: .*resolves to ${agent.address.replace(/\./g, '\\.')}\\)`),
      );
      const tokenFile = join(site.root, 'api.token');
      await writeFile(tokenFile, 'a-token-of-enough-length-0123456789\n');
      const served = runHerald([...args, ...rest, ...profiles, '--api-token-file', tokenFile, '--log-format', 'json'], {
        prefix: site.bed.prefix(agent),
      });
      try {
        await served.waitFor(() => served.logs().find((l) => l.msg === 'agent started'), 10_000, 'h1b started');
        const url = `http://${agent.address}:7756/v1/devices`;
        const anonymous = await site.bed.exec(
          site.attacker,
          'curl',
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          url,
        );
        assert.is(anonymous.stdout, '401', 'from the LAN, the API asks for the token');
      } finally {
        await served.stop('SIGKILL');
      }
    } finally {
      await rm(etc, { recursive: true, force: true });
      await site.destroy();
    }
  },
);

test.run();
