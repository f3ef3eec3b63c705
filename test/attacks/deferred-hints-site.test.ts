import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { device, SimSite } from '../helpers/sim.js';

/**
 * attack17, surface 3 (change14's `defer`). The simulator runs hints at once; the host agent defers them to the
 * loop's turn's end (setImmediate). Here every agent of a lossy site defers them on the virtual clock (the next
 * instant, after the datagrams already due): do changes made in turns of several agents at once, and an agent
 * stopped and restarted meanwhile, still reach everyone, and as soon as without deferral?
 */
const AGENTS = 30;

async function run(deferred: boolean): Promise<{ converged: number; deferredRuns: number }> {
  const site = new SimSite(1703, { loss: 0.3 }, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  let deferredRuns = 0;
  const defer = (work: () => void) => {
    site.clock.setTimeout(() => {
      deferredRuns++;
      work();
    }, 0);
  };
  try {
    for (let i = 0; i < AGENTS; i++) {
      await site.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1, components: deferred ? { defer } : {} });
      await site.clock.advance(5);
    }
    await site.clock.advance(15_000);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < AGENTS; i += 3) await site.change(`agent-${i}`, [device(`d-${i}-${round}`)]);
      await site.clock.advance(200);
    }
    await site.stop('agent-1');
    await site.clock.advance(300);
    await site.start('agent-1', [device('d-1-new')], { index: 2, components: deferred ? { defer } : {} });
    const converged = await site.runUntilConverged(30_000);
    return { converged, deferredRuns };
  } finally {
    await site.stopAll();
  }
}

test('30 agents at 30 % loss, hints deferred to the turn’s end: every change reaches everyone', async () => {
  const plain = await run(false);
  const deferred = await run(true);
  console.log(
    `  converged after ${plain.converged} ms at once, ${deferred.converged} ms deferred (${deferred.deferredRuns} deferred)`,
  );
  assert.ok(plain.converged >= 0, 'converged without deferral');
  assert.ok(deferred.deferredRuns > 0, 'hints were deferred');
  assert.ok(deferred.converged >= 0, 'converged with deferral');
  assert.ok(deferred.converged <= plain.converged + 2_000, 'deferral made convergence slower by over 2 s');
});

test.run();
