import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Hello } from '../../src/transport/transport.js';
import { ScaleSite } from '../swarm/scale-site.js';
import { forgeVote } from './forged-votes.js';
import { forgingMembers } from './forging-members.js';

const AGENTS = 40;
const MINUTES = 10;
const GHOSTS = 5;
const MEMBER = 'agent-17';
/** Live agents the member's summaries leave out: their holders are asked to check them. */
const HIDDEN = Array.from({ length: 10 }, (_, i) => `agent-${20 + i}`);

/**
 * A member of an open site (anyone may run one) votes against every agent's view: each second it multicasts its
 * own heartbeat and one in another live agent's name from that agent's address, both naming a view no one holds.
 * Its answers lie: its summary leaves out 10 live agents and names 5 made-up ones at addresses no agent holds, and
 * its digest is the forged view's. Whoever the votes make ask it must lose no live agent and add no ghost (the
 * first-hand checks and the adoption's catch-up hold: 0 ghosts, 0 losses before and after), and the votes must not
 * make the whole site ask it: asked of the last voter, it served 115 forged summaries in 10 min at 40 agents.
 */
test('a forging member that votes and serves forged summaries adds no ghost and loses no live agent', async () => {
  const site = new ScaleSite(43, 'default', 2);
  const members = forgingMembers(site, ({ answer, route, address }) => {
    if (answer.status !== 200 || route !== 'hello' || address !== site.addressOf(MEMBER)) return answer;
    const hello = answer.body as Hello;
    const ghosts = Array.from({ length: GHOSTS }, (_, i) => ({
      name: `ghost-${i}`,
      incarnation: 1,
      version: 1,
      address: `10.0.9.${i + 1}`,
      port: 7771,
    }));
    const peers = hello.peers && [...hello.peers.filter((p) => !HIDDEN.includes(p.name)), ...ghosts];
    const digest = hello.digest === undefined ? undefined : 0x5eed5eed;
    return { status: 200, body: { ...hello, ...(peers ? { peers } : {}), ...(digest ? { digest } : {}) } };
  });
  try {
    await site.startSettled(AGENTS);
    members.on();
    site.meter.reset();
    for (let s = 0; s < MINUTES * 60; s++) {
      for (const name of ['agent-3', MEMBER]) forgeVote(site, name, 0x5eed5eed);
      await site.sim.clock.advance(1000);
    }
    const served = site.meter.of(site.addressOf(MEMBER)).served.summary.count;
    const ghosted = site.names.filter((n) => site.agent(n).agent.directory.held('ghost-0') !== undefined);
    console.log(
      `  ${MEMBER} served ${served} forged summaries in ${MINUTES} min; ${ghosted.length} agents held a ghost`,
    );
    assert.equal(ghosted, [], 'agents holding a made-up agent');
    // Each agent asked the voter: 115 in 10 min before the votes asked a differing ring neighbour instead.
    assert.ok(served <= 2 * MINUTES, `${MEMBER} served ${served} summaries in ${MINUTES} min`);
    assert.is(site.falseLosses, 0, 'no live agent lost');
    for (const name of site.names) assert.is(site.holdsAll(name), site.names.length, `${name}'s directory`);
  } finally {
    await site.stopAll();
  }
});

test.run();
