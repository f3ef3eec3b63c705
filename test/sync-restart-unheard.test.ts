import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../src/sync/ring.js';
import { rareSite } from './helpers/rare-site.js';

/**
 * attack12 (an attack that did not break it). On a large site (100 agents at a 1,000-agent budget: multicast
 * heartbeats minutes apart) an agent restarts in place, with a new incarnation, and one host hears none of the
 * datagrams of the restart (its announcement, its solicit, the answers, its one repeated heartbeat: 3 s of loss,
 * as a Wi-Fi fade or a full receive buffer). The ring does not carry a new life's first version (hints.ts note),
 * and the others' hints of it are dropped there as `other-life` (hint-receiver.ts), so the host could have kept
 * the old life until the origin's own multicast heartbeat, minutes away. It does not: the restarted agent asks
 * every peer it learnt second-hand at its endpoint, naming itself and its life in the hello (the asker), and the
 * asked host probes it back and adopts the new life, deaf or not. Kept so that a change to those probes (their
 * spread, their asker) that loses this shows here.
 */
test('a host that missed every datagram of a restart in place learns the new life within seconds', async () => {
  const site = await rareSite(7);
  try {
    const ring = new Ring(site.names);
    const host = 'agent-50';
    const near = new Set([...ring.subjectsOf(host), ...ring.monitorsOf(host)]);
    const origin = site.names.find((n) => n !== host && !near.has(n))!;
    const index = site.names.indexOf(origin) + 1;
    const to = site.addressOf(host);
    site.sim.network.dropAtSend = (_a, b) => b === to;
    await site.sim.crash(origin);
    await site.start(origin, index); // the same address: a restart in place
    const incarnation = site.agent(origin).incarnation;
    await site.sim.clock.advance(3_000);
    site.sim.network.dropAtSend = undefined;
    const others = site.names.filter((n) => n !== origin && n !== host);
    const knowing = others.filter((n) => site.agent(n).agent.directory.held(origin)?.incarnation === incarnation);
    const held = () => site.agent(host).agent.directory.held(origin)?.incarnation;
    const since = site.now();
    while (held() !== incarnation && site.now() - since < 20_000) await site.sim.clock.advance(100);
    const took = site.now() - since;
    console.log(
      `  ${knowing.length} of ${others.length} others held the new life at 3 s; ${host} after ${took} ms more`,
    );
    assert.ok(knowing.length >= others.length - 2, `only ${knowing.length} others held the new life`);
    assert.is(held(), incarnation, `${host} still held the old life 20 s after it heard again`);
    assert.ok(took <= 5_000, `${host} learnt the new life ${took} ms after it heard again`);
  } finally {
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

test.run();
