import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a32 } from '../../src/protocol/messages.js';
import { firstRechecker, LostRechecks, RECHECK_PERIODS, RECHECKERS } from '../../src/sync/lost-rechecks.js';
import type { Peer } from '../../src/sync/peer-table.js';

/**
 * fairq19, from recheck18's leftovers: the first recheckers of a loss are chosen by an unkeyed hash of the viewer's
 * and the subject's names (lost-rechecks.ts firstRechecker), the same for every viewer. On an open site a member
 * that runs RECHECKERS agents can pick their names: 617 tries of fnv1a32 found 3 that outrank all 200 members for
 * agent-7, so no honest viewer is a first rechecker of it. The forger's agents then do not recheck, and a live
 * agent lost on timeouts waited the honest viewers' late rechecks (from 4 periods on) instead of 2. Whatever all
 * viewers share on an open site the forger knows too, and can grind names against (a per-site salt, the subject's
 * incarnation: ~600 tries either way). What it cannot steer is each honest viewer's own draw: a few of the others
 * ask early too (EARLY_ASKERS), by a coin of their own name, the subject and the moment of their loss.
 */
const PERIOD = 1000;
const subject = 'agent-7';
const site = Array.from({ length: 200 }, (_, i) => `agent-${i}`);
const score = (name: string): number => fnv1a32(`${name}/${subject}`);

/** RECHECKERS names that outrank every member for the subject, ground as a forger would. */
function groundNames(): string[] {
  const top = Math.max(...site.filter((n) => n !== subject).map(score));
  const forged: string[] = [];
  for (let i = 0; forged.length < RECHECKERS && i < 100_000; i++)
    if (score(`evil-${i}`) > top) forged.push(`evil-${i}`);
  return forged;
}

test('3 ground names take every first-rechecker place of a member (the forger as it was)', () => {
  const forged = groundNames();
  const viewers = [...site, ...forged];
  assert.is(forged.length, RECHECKERS);
  assert.is(site.filter((n) => n !== subject && firstRechecker(n, subject, viewers)).length, 0);
});

test('3 ground names do not keep every honest viewer from asking a lost member again within 2 periods', () => {
  const forged = groundNames();
  const viewers = [...site, ...forged];
  const lost = { name: subject, replica: { incarnation: 1 } } as unknown as Peer;
  const losses = 40;
  let unanswered = 0;
  let early = 0;
  for (let k = 0; k < losses; k++) {
    // Each honest viewer loses it on its own timeouts, within the same second or so, on its own clock.
    const asking = site.filter((n, i) => {
      if (n === subject) return false;
      const rechecks = new LostRechecks(PERIOD, n, () => new Set(viewers.filter((v) => v !== n)));
      const now = 5_000_000 + k * 7919 + i * 13;
      rechecks.lost(lost, now, true);
      return rechecks.dueAt(lost, now, true) <= now + RECHECK_PERIODS[0] * PERIOD;
    });
    if (asking.length === 0) unanswered += 1;
    early += asking.length;
  }
  console.log(
    `ground names: ${unanswered} of ${losses} losses unasked early, ${(early / losses).toFixed(2)} early asks a loss`,
  );
  assert.ok(unanswered <= 1, `${unanswered} of ${losses} losses asked again early by no honest viewer`);
  assert.ok(early / losses <= 3 * RECHECKERS, `${(early / losses).toFixed(1)} early asks a loss: still a few`);
});

test.run();
