import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * attack17, surface 5 (idle14's budget curve). A crash is told by its 2 monitors' lost notices, each sent twice:
 * at 30 % loss a host misses all four about one time in 0.3⁴ ≈ 120, and then has only its backstop, 5 of its
 * judging intervals (~80 s at 200 agents with the 150 B/s floor). The scale run times the crash without loss.
 * Here 2 of 199 hosts still hold the crashed agent 10 s after. Measured further (seed 1723, one run each, nice
 * 19, load 7-11 beside the lead's bench, a script of this site with one more host deaf to the monitors): at 200
 * agents 3 other hosts held it 356 s; at 500 (7 minutes of CPU), 3 others for 1,210 to 1,393 s.
 *
 * Known failing: skipped unless HERALD_KNOWN_FAILING=1 (~30 s of CPU). What would fix it is not built: the
 * notice carried on the ring's rounds as a change's hints are (RING_CARRIES), or the digest backstop
 * (docs/protocol.md, *Liveness*).
 */
const AGENTS = 200;
const WITHIN_MS = 10_000;

async function lateHosts(): Promise<string[]> {
  const site = new ScaleSite(1723, 'default', 2);
  try {
    await site.startSettled(AGENTS);
    await site.sim.clock.advance(20_000);
    site.sim.network.loss = 0.3;
    const crashed = site.names[17];
    site.live.delete(crashed);
    await site.sim.crash(crashed);
    await site.sim.clock.advance(WITHIN_MS);
    const late = site.names.filter(
      (n) => n !== crashed && site.agent(n).agent.directory.held(crashed)?.state === 'alive',
    );
    console.log(
      `  ${late.length} of ${AGENTS - 1} hold the crashed ${crashed} alive ${WITHIN_MS} ms after: ${late.join(' ')}`,
    );
    return late;
  } finally {
    await site.stopAll();
  }
}

const NAME = `${AGENTS} agents at 30 % loss: every host drops a crashed agent within ${WITHIN_MS / 1000} s`;
async function run(): Promise<void> {
  assert.equal(await lateHosts(), []);
}
if (process.env.HERALD_KNOWN_FAILING === '1') test(NAME, run);
else test.skip(NAME, run);

test.run();
