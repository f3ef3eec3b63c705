import '../helpers/no-unhandled.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually } from '../helpers/netns.js';
import { testIf } from '../helpers/requirements.js';
import { AttackSite, attackMissing, PEER_PORT } from './harness.js';

testIf(
  test,
  attackMissing(),
  'issue 16.12: idle connections to the peer port (20,000 attempted) are dropped within seconds',
  async () => {
    const site = await AttackSite.create({ agents: 1 });
    const [agent] = site.agents;
    try {
      const before = await site.rssMb(agent);
      const watching = site.watch(agent, 5000);
      const t0 = Date.now();
      const attack = { running: true };
      let heldMax = 0;
      const sampling = (async () => {
        while (attack.running) {
          heldMax = Math.max(heldMax, await site.established(agent, PEER_PORT));
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const idle = await site.tool<{
        opened: number;
        failed: number;
        connecting: number;
        stillOpen: number;
        maxLifeMs: number;
      }>(site.attacker, 'idle', { host: agent.address, port: PEER_PORT, count: 20_000, openMs: 4000, holdMs: 5000 });
      const took = Date.now() - t0;
      attack.running = false;
      await sampling;
      const { monitor, rssMaxMb } = await watching;
      console.log(
        `  ${JSON.stringify(idle)} in ${took} ms; agent held at most ${heldMax}; RSS ${before.toFixed(1)} → max ${rssMaxMb} MB; ${JSON.stringify(monitor)}`,
      );
      assert.ok(idle.opened >= 1000, `the attack reached the agent (${idle.opened} connections opened)`);
      // The attacker may see more as open: a SYN whose final ACK the agent's full accept queue dropped.
      // What the agent holds is its per-source cap (16) plus its accept queue at most: Linux queues
      // backlog + 1 connections (sk_acceptq_is_full tests ack_backlog > max_ack_backlog), 65 for 64.
      assert.ok(heldMax <= 16 + 65, `the agent never held more than 81 connections (${heldMax})`);
      // A connection the kernel completed late (a retransmitted SYN-ACK) may still be in its idle 3 s, and
      // Node checks that deadline once a second: 4 s on a quiet machine, twice that on a loaded one (CI ran
      // out of 4 s once with a load of 8 on 2 cores).
      const drained = await eventually(
        'no connection held after the attack',
        async () => (await site.established(agent, PEER_PORT)) === 0,
        8000,
      );
      assert.ok(drained < 8000, `none held within ${drained} ms of the attack's end`);
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
