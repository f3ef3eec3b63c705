import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { losersOf, MovingHost, startWithMover } from '../helpers/moving-host.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * attack18, surface 5 (hostf15: a catch-up at an address the origin left is let go and asked again where it
 * answered). Can an origin that moves back and forth starve its own catch-up: each answer at the other address
 * lets the fetch in flight go, so a fetch might never finish? Here the mover flips between two addresses every
 * FLIP_MS for a minute, with a change after each flip, on a stretched site (heartbeats minutes apart). Held: the
 * changes keep reaching the site while it flips, and once it stays, every agent holds its last version within
 * the site's quiet 15 s; none lost it.
 */
const AGENTS = 20;
const BUDGET = 36; // B/s: heartbeats minutes apart
const MOVER = 'agent-7';
const ADDRESSES = ['10.0.0.8', '10.1.0.1'];
const FLIP_MS = 3_000;
const FLIPS = 20;

test(`an origin flipping between two addresses every ${FLIP_MS / 1000} s: its changes still arrive, none lose it`, async () => {
  const site = new SimSite(1819, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  const host = new MovingHost(site.network, ADDRESSES[0]);
  try {
    const names = await startWithMover(site, host, { count: AGENTS, mover: MOVER, heartbeatBudget: BUDGET });
    const lost = losersOf(site, MOVER);
    const mover = site.agents.get(MOVER)!;
    const version = () => mover.agent.local.currentVersion;
    const holding = (v: number) =>
      names.filter((n) => n !== MOVER && (site.agents.get(n)!.agent.directory.held(MOVER)?.version ?? 0) >= v).length;
    const heldWithinFlip: number[] = [];
    for (let i = 1; i <= FLIPS; i++) {
      await host.move(ADDRESSES[i % 2]);
      site.agents.get(MOVER)!.address = ADDRESSES[i % 2];
      await site.clock.advance(200);
      mover.source.set([device('d-7'), device(`d-7-${i}`)]);
      await site.clock.advance(FLIP_MS - 200);
      heldWithinFlip.push(holding(version()));
    }
    const stayed = site.clock.monotonic();
    let allMs: number | undefined;
    for (let t = 0; t < 60_000 && allMs === undefined; t += 100) {
      if (holding(version()) === AGENTS - 1) allMs = site.clock.monotonic() - stayed;
      else await site.clock.advance(100);
    }
    console.log(
      `  agents holding each change ${FLIP_MS} ms after it (of ${AGENTS - 1}): ${heldWithinFlip.join(' ')}; ` +
        `all hold the last ${allMs ?? 'not within 60 s'} ms after it stayed; lost by: ${lost.join(' ') || 'none'}`,
    );
    assert.ok(allMs !== undefined && allMs <= 15_000, `all hold its last version ${allMs} ms after it stayed`);
    assert.equal(lost, []);
    const starved = heldWithinFlip.filter((n) => n < (AGENTS - 1) / 2).length;
    assert.ok(starved <= FLIPS / 4, `${starved} of ${FLIPS} changes reached fewer than half within a flip`);
  } finally {
    await site.stopAll();
  }
});

test.run();
