import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JOIN_CHECKS } from '../../src/sync/join-view.js';
import type { Hello, PeerService, PeerSummary } from '../../src/transport/transport.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { budgetStretchedLike } from '../swarm/stretched-site.js';

/**
 * attack18, surface 4 (tail15's join-view checks). On an open site members that answer every digest as
 * different and every summary with 40 made-up names (on-link addresses where nothing listens) can make a newcomer
 * ask summaries forever, adopt its names, or stay incomplete? Held: each newcomer compares at most JOIN_CHECKS
 * times (each check asks a peer not asked before), adopts none of the made-up names, and holds every real agent
 * within the checks' span. Measured (seed 1818, 20 forgers of 30, 6 newcomers): at most 6 digests and 5 summaries
 * a newcomer (agent-30), 0 ghosts held, every newcomer complete. The cost the checks add: agent-30 sent 120
 * requests to the 40 made-up names (one adoption each, then the budgeted verification of later summaries' names),
 * where one join summary drew 40 (agent-31): within join-view.ts's stated bound, a join's worth a summary.
 */
const AGENTS = 30;
const NEWCOMERS = 6;
/** Forgers: 20 of the 30 (Sybils are cheap on an open site), so that a newcomer's checks pick them. */
const FORGERS = new Set(Array.from({ length: 20 }, (_, i) => `agent-${i}`));

function madeUp(): PeerSummary[] {
  return Array.from({ length: 40 }, (_, i) => ({
    name: `ghost-${i}`,
    incarnation: 1,
    version: 3,
    address: `10.0.9.${i + 1}`,
    port: 7771,
  }));
}

test('a forger answering every digest as different: bounded checks, no forged name adopted, newcomers complete', async () => {
  const site = new ScaleSite(1818, 'default', 2, { heartbeatBudget: budgetStretchedLike(AGENTS + NEWCOMERS, 200) });
  try {
    await site.startSettled(AGENTS);
    // The forger's endpoint answers as itself, but with a digest that never agrees and a summary padded with ghosts.
    const services = (site.sim.network as unknown as { services: Map<string, PeerService> }).services;
    const toForgers = new Map<string, number>();
    for (const forger of FORGERS) {
      const key = [...services.keys()].find((k) => k.startsWith(`${site.addressOf(forger)}:`))!;
      const inner = services.get(key)!;
      services.set(key, {
        handle: (route, query, from) => {
          const answer = inner.handle(route, query, from);
          if (route !== 'hello' || answer.status !== 200) return answer;
          // Not counted: the one probe of each origin whose set a newcomer took second-hand (bulk-sets.ts), no check.
          if (query.get('set') !== '1') toForgers.set(from.address, (toForgers.get(from.address) ?? 0) + 1);
          const hello = answer.body as Hello;
          const digest = hello.digest === undefined ? undefined : (hello.digest ^ 1) >>> 0;
          return { status: 200, body: { ...hello, digest, peers: [...(hello.peers ?? []), ...madeUp()] } };
        },
      });
    }
    // Requests to the made-up names' addresses, by asker: a join's worth from each summary at most (join-view.ts).
    const toGhosts = new Map<string, number>();
    site.sim.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.to.startsWith('10.0.9.')) toGhosts.set(e.from, (toGhosts.get(e.from) ?? 0) + 1);
    };
    const newcomers: string[] = [];
    for (let i = 0; i < NEWCOMERS; i++) {
      const name = `agent-${AGENTS + i}`;
      newcomers.push(name);
      await site.start(name, AGENTS + i + 1);
      await site.sim.clock.advance(500);
    }
    // The last check is ~63 periods after the join: a minute and more at this stretch.
    await site.sim.clock.advance(90_000);
    const asked = (n: string, why: string) => site.agent(n).agent.metrics.viewExchanges.get({ why });
    const ghosts = newcomers.flatMap((n) =>
      site
        .agent(n)
        .agent.directory.agents()
        .filter((a) => a.name.startsWith('ghost-') && a.state === 'alive'),
    );
    const incomplete = newcomers.filter((n) => site.holdsAll(n) < site.names.length);
    for (const n of newcomers)
      console.log(
        `  ${n}: ${asked(n, 'join-digest')} digests, ${asked(n, 'join')} summaries, ` +
          `${toForgers.get(site.addressOf(n)) ?? 0} hellos to forgers, ${toGhosts.get(site.addressOf(n)) ?? 0} requests to ghosts`,
      );
    console.log(`  ghosts held alive: ${ghosts.length}; incomplete newcomers: ${incomplete.join(' ') || 'none'}`);
    for (const n of newcomers) {
      assert.ok(asked(n, 'join-digest') <= JOIN_CHECKS, `${n}: digest compares`);
      assert.ok(asked(n, 'join') <= JOIN_CHECKS, `${n}: summaries`);
      assert.ok((toForgers.get(site.addressOf(n)) ?? 0) <= 2 * (JOIN_CHECKS + 1), `${n}: hellos to forgers`);
      const ghostRequests = toGhosts.get(site.addressOf(n)) ?? 0;
      assert.ok(
        ghostRequests <= (JOIN_CHECKS + 1) * madeUp().length,
        `${n}: ${ghostRequests} requests to made-up names`,
      );
    }
    assert.is(ghosts.length, 0, 'no made-up name held alive');
    assert.equal(incomplete, []);
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

test.run();
