import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a32 } from '../../src/protocol/messages.js';
import { firstRechecker, RECHECKERS } from '../../src/sync/lost-rechecks.js';

/**
 * Skipped, not fixed (fairq19, from recheck18's leftovers): the first recheckers of a loss are chosen by an unkeyed
 * hash of the viewer's and the subject's names (lost-rechecks.ts firstRechecker), the same for every viewer. On an
 * open site a member that runs RECHECKERS agents can pick their names: 617 tries of fnv1a32 found 3 that outrank all
 * 200 members for agent-7, so no honest viewer is a first rechecker of it. The forger's agents then do not recheck,
 * and a live agent lost on timeouts waits every honest viewer's late recheck (4 + up to 25 periods at 200 agents)
 * instead of 2. Whatever all viewers share on an open site the forger knows too: a fix is not a key but a choice it
 * cannot steer (or first recheckers that do not depend on the names alone).
 */
test.skip('3 ground names do not take every first-rechecker place of a member', () => {
  const site = Array.from({ length: 200 }, (_, i) => `agent-${i}`);
  const subject = 'agent-7';
  const score = (name: string): number => fnv1a32(`${name}/${subject}`);
  const top = Math.max(...site.filter((n) => n !== subject).map(score));
  const forged: string[] = [];
  for (let i = 0; forged.length < RECHECKERS && i < 100_000; i++)
    if (score(`evil-${i}`) > top) forged.push(`evil-${i}`);
  const viewers = [...site, ...forged];
  const honest = site.filter((n) => n !== subject && firstRechecker(n, subject, viewers));
  assert.ok(honest.length > 0, `${honest.length} honest first recheckers with ${forged.join(', ')} on the site`);
});

test.run();
