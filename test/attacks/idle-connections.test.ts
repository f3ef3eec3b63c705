import '../helpers/no-unhandled.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testIf } from '../helpers/requirements.js';
import { AttackSite, attackMissing, PEER_PORT } from './harness.js';

testIf(
  test,
  attackMissing(),
  'issue 16.12: 20,000 idle connections to the peer port are dropped within seconds',
  async () => {
    const site = await AttackSite.create({ agents: 1 });
    const [agent] = site.agents;
    try {
      const before = await site.rssMb(agent);
      const watching = site.watch(agent, 5000);
      const t0 = Date.now();
      const idle = await site.tool<{
        opened: number;
        failed: number;
        connecting: number;
        stillOpen: number;
        maxLifeMs: number;
      }>(site.attacker, 'idle', { host: agent.address, port: PEER_PORT, count: 20_000, openMs: 4000, holdMs: 5000 });
      const took = Date.now() - t0;
      const { monitor, rssMaxMb } = await watching;
      console.log(
        `  ${JSON.stringify(idle)} in ${took} ms; RSS ${before.toFixed(1)} → max ${rssMaxMb} MB; ${JSON.stringify(monitor)}`,
      );
      assert.ok(idle.opened > 2000, `the attack reached the agent (${idle.opened} connections opened)`);
      // Seen from the attacker, a connection the kernel never handed to the agent (its accept queue full)
      // can look open; what counts is what the agent holds, seen from its own host.
      const held = (await site.bed.exec(agent, 'ss', '-Htn', 'state', 'established', `( sport = :${PEER_PORT} )`))
        .stdout;
      assert.is(held.trim().split('\n').filter(Boolean).length, 0, 'the agent holds none of the connections');
      assert.ok(idle.maxLifeMs < 5000, `no idle connection lived 5 s (longest ${idle.maxLifeMs} ms)`);
      assert.ok(rssMaxMb < 80, `RSS stayed under 80 MB (${rssMaxMb} MB)`);
      assert.ok(monitor.p99 < 100, `/livez p99 ${monitor.p99} ms < 100 ms`);
      assert.ok(site.running(agent), 'the agent is still running');
      const refused = await site.metric(
        agent,
        'herald_invalid_input_total',
        'reason="(connections-|idle|client-error)',
      );
      assert.ok(refused > 0, `refusals counted (${refused})`);
    } finally {
      await site.destroy();
    }
  },
);

test.run();
