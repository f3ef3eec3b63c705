import '../helpers/no-unhandled.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testIf } from '../helpers/requirements.js';
import { API_PORT, AttackSite, attackMissing, PEER_PORT } from './harness.js';

const TARGETS = ['//a:99999/', 'http://[', '/v1/peer/hello?x=%E0%A4%A'];

testIf(
  test,
  attackMissing(),
  'issue 16.1: one 26-byte request to the peer port or the API crashes nothing',
  async () => {
    const site = await AttackSite.create({ agents: 1 });
    const [agent] = site.agents;
    try {
      for (const target of TARGETS) {
        const text = `GET ${target} HTTP/1.0\r\n\r\n`;
        const peer = await site.tool<{ status: string }>(site.attacker, 'raw', {
          host: agent.address,
          port: PEER_PORT,
          text,
        });
        assert.match(peer.status, / 400 /, `peer port: GET ${target} answered '${peer.status}'`);
        const api = await site.tool<{ status: string }>(agent, 'raw', { host: '127.0.0.1', port: API_PORT, text });
        assert.match(api.status, / 400 /, `API: GET ${target} answered '${api.status}'`);
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(site.running(agent), 'the agent is still running');
      assert.is((await site.api(agent, '/livez')).status, 200);
      const counted = await site.metric(agent, 'herald_invalid_input_total', 'reason="target-');
      assert.ok(counted >= 2 * TARGETS.length, `every refusal counted (${counted})`);
      assert.is(await site.metric(agent, 'herald_bugs_total'), 0, 'no error escaped a handler');
    } finally {
      await site.destroy();
    }
  },
);

test.run();
