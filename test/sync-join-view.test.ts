import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing, type KeyRing } from '../src/security/cluster-key.js';
import { JOIN_CHECKS } from '../src/sync/join-view.js';
import { ScaleSite } from './swarm/scale-site.js';
import { budgetStretchedLike } from './swarm/stretched-site.js';

const AGENTS = 60;
/** Stretched like 200 agents at the default budget: each agent's multicast heartbeat ~80 s apart. */
const LIKE = 200;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Pairs (viewer, origin) of live agents not held at the origin's current version. */
function unheld(site: ScaleSite): number {
  let n = 0;
  for (const viewer of site.names) {
    let i = 0;
    while ((i = site.holdsAll(viewer, i)) < site.names.length) [n, i] = [n + 1, i + 1];
  }
  return n;
}

/**
 * Issue 18, the 200-agent cold start's tail on real sockets (tail15): 97.7 % of pairs held at 37 s, 100 % at 150 s.
 * Traced at 100 agents: every unheld pair of the tail was a late starter that had never heard of an earlier origin
 * (no entry at all), not one that knew it and lacked its devices. A newcomer learns the site from one summary, its
 * join probe's: 19 of 100 join probes went unanswered in the loaded start (a busy peer's loop), and the others were
 * one peer's view, which in a loaded start lacks the origins it has not caught up yet (a summary names only
 * origins held with devices). The rest came from the origins' own heartbeats, ~80 s apart at 200 agents.
 * Here: a site stretched like 200 agents, 60 agents started 100 ms apart; each agent's catch-ups of others are
 * answered 400 ms late until its own moment within the start (slow, none failing, as at 100 on real sockets: its
 * summaries lag), and every third newcomer's first hello (its join probe) hangs. The user's figure: every agent
 * holds every other within a few seconds of the faults ending. Before the join's checks (join-view.ts): 130 pairs
 * (3.7 %) were never heard of when the faults ended, and stayed so until the origins' heartbeats, 108 s later.
 */
/** The cold start above on a site of this key (none: open): when it completed after the faults, and the checks made. */
async function faultyColdStart(keys?: KeyRing) {
  const site = new ScaleSite(1501, 'default', 2, { heartbeatBudget: budgetStretchedLike(AGENTS, LIKE) }, keys);
  try {
    const start = site.now();
    const busyUntil = new Map<string, number>();
    const hellos = new Map<string, number>();
    const joinHangs = new Set<string>();
    site.sim.network.rpcFaults = (from, _to, route) => {
      if (route === 'changes')
        return site.now() < (busyUntil.get(from) ?? 0) ? { kind: 'late', delayMs: 400 } : undefined;
      const n = (hellos.get(from) ?? 0) + 1;
      hellos.set(from, n);
      return n === 1 && joinHangs.has(from) ? { kind: 'hang' } : undefined;
    };
    for (let i = 0; i < AGENTS; i++) {
      const name = `agent-${i}`;
      await site.start(name, i + 1);
      busyUntil.set(site.addressOf(name), site.now() + 500 + ((i * 37) % 20) * 150);
      if (i % 3 === 2) joinHangs.add(site.addressOf(name));
      await site.sim.clock.advance(100);
    }
    const faultsEnd = Math.max(...busyUntil.values());
    await site.sim.clock.advance(faultsEnd - site.now());
    let complete: number | undefined;
    for (let t = 0; t < 120_000 && complete === undefined; t += 250) {
      if (unheld(site) === 0) complete = site.now() - faultsEnd;
      else await site.sim.clock.advance(250);
    }
    const asked = (why: string) => site.names.map((n) => site.agent(n).agent.metrics.viewExchanges.get({ why }));
    const [summaries, digests] = [asked('join'), asked('join-digest')];
    console.log(
      `  ${keys ? 'keyed' : 'open'}, ${AGENTS} agents, faults over ${faultsEnd - start} ms: complete` +
        ` ${complete ?? 'not within 120 s'} ms after (${joinHangs.size} join probes hung), ${unheld(site)} pairs` +
        ` unheld at the end; the join's checks: ${sum(digests)} digests, ${sum(summaries)} summaries (at most` +
        ` ${Math.max(...summaries)} an agent)`,
    );
    return { complete, falseLosses: site.falseLosses, digests };
  } finally {
    await site.stopAll();
  }
}

test('a cold start whose join summaries fail or fall short converges within seconds of the faults ending', async () => {
  const { complete, falseLosses, digests } = await faultyColdStart();
  assert.ok(complete !== undefined && complete <= 5_000, `complete ${complete} ms after the faults ended`);
  assert.is(falseLosses, 0);
  assert.ok(Math.max(...digests) <= JOIN_CHECKS, 'digest compares an agent');
});

/**
 * The same on a keyed site (keyed21): a summary's names are taken at once, so each late starter's view was exactly
 * its join summary's, and its checks asked the agents named next, which had started after it through the same
 * member and lacked the same origins: their digests agreed and the checks ended (agent-43 asked agent-44 and
 * agent-45, agreed with the second, and lacked agent-6 until its heartbeat). Complete 36.5 s after the faults with
 * the next-in-name pick; the checks now ask peers whose lives began before the newcomer's.
 */
test('a keyed cold start whose join summaries fall short converges within seconds of the faults ending', async () => {
  const { complete, falseLosses, digests } = await faultyColdStart(parseKeyRing(generateKey()));
  assert.ok(complete !== undefined && complete <= 5_000, `complete ${complete} ms after the faults ended`);
  assert.is(falseLosses, 0);
  assert.ok(Math.max(...digests) <= JOIN_CHECKS, 'digest compares an agent');
});

test.run();
