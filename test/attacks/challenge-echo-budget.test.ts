import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeChallenge } from '../../src/protocol/challenge.js';
import { fnv1a32 } from '../../src/protocol/messages.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * An agent echoes at most 256 challenges a second (bursts of 1,024), whoever sent them: an off-path forger can spend
 * that budget with challenges naming a newcomer, from sources of its choosing (each echo goes there, no larger than
 * the challenge). The site's own challenges of the newcomer are then refused, and each challenger falls back to the
 * catch-up a liveness period later, as before the challenges. Measured, not fixed: how much later the site holds
 * the newcomer's set, and how many catch-ups that costs.
 */
const N = 40;

async function run(seed: number, flood: boolean): Promise<{ ms: number; catchups: number; refused: number }> {
  const s = new SimSite(seed, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  try {
    for (let i = 0; i < N; i++) {
      await s.start(`agent-${i}`, [device(`d-${i}`)], { index: i + 1 });
      await s.clock.advance(100);
    }
    assert.ok((await s.runUntilConverged(60_000)) >= 0, 'converged');
    const newcomer = { name: 'agent-new', address: '10.0.1.1' };
    const nameHash = fnv1a32(newcomer.name);
    let sent = 0;
    const burst = (count: number) => {
      for (let i = 0; i < count; i++, sent++) {
        const nonce = Uint8Array.from({ length: 8 }, (_, k) => ((sent >> (k * 8)) & 255) ^ k);
        // From 200 addresses of the link: the transport's per-source limit (200/s) is no bound here.
        s.network.injectTo(`10.0.8.${1 + (sent % 200)}`, newcomer.address, encodeChallenge({ nonce, nameHash }));
      }
    };
    let catchups = 0;
    s.network.onEvent = (e) => {
      if (e.type === 'rpc' && e.route === 'changes' && e.to.startsWith(`${newcomer.address}:`)) catchups += 1;
    };
    const a = await s.start(newcomer.name, [device('new-d')], { address: newcomer.address });
    if (flood) burst(1100);
    let ms = 0;
    const holders = () => s.running().filter((o) => o.agent.directory.device(newcomer.name, 'new-d')).length;
    while (holders() < N + 1 && ms < 30_000) {
      if (flood) burst(30); // 300 a second, past the 256 echoed
      await s.clock.advance(100);
      ms += 100;
    }
    return { ms, catchups, refused: a.agent.metrics.announceChallenges.get({ result: 'refused' }) };
  } finally {
    s.network.onEvent = undefined;
    await s.stopAll();
  }
}

test(`a newcomer to ${N} whose echoes a forger spends: the site falls back to its catch-ups (measured)`, async () => {
  const plain = await run(2161, false);
  const flooded = await run(2161, true);
  console.log(
    `    held by all after ${plain.ms} ms -> ${flooded.ms} ms; catch-ups at the newcomer ${plain.catchups} -> ` +
      `${flooded.catchups}; echoes refused ${plain.refused} -> ${flooded.refused}`,
  );
  // Measured (attackch21): 100 ms -> 1,100 ms, 0 -> 40 catch-ups: the fallback a liveness period late, no worse.
  assert.ok(flooded.ms <= 3_000, `the newcomer held by all after ${flooded.ms} ms`);
  assert.ok(flooded.catchups <= N + 5, `${flooded.catchups} catch-ups at the newcomer: one a site agent`);
});

test.run();
