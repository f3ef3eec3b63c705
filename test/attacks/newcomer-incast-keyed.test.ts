import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { device } from '../helpers/sim.js';
import { ScaleSite } from '../swarm/scale-site.js';

const SITE = 80;
/** The accept queue modelled as in sync-newcomer-incast.test.ts: QUEUE connections per ACCEPT_MS, the rest dropped. */
const QUEUE = 16;
const ACCEPT_MS = 20;
/** The newcomer's set: too large for its first announcement, which then names its version only. */
const DEVICES = 200;

/**
 * Attack on the first-fetch spread (first-fetch-spread.ts): it is skipped for a peer already verified, and on
 * a keyed site every newcomer is verified by its first signed datagram. A newcomer whose set does not fit in
 * its first announcement is then asked for it by the whole keyed site at once: with the accept queue of
 * sync-newcomer-incast.test.ts, 64 of the 80 first catch-ups were dropped (the open site: none).
 */
test("keyed site: a large newcomer's endpoint is not asked by the whole site at once either", async () => {
  const site = new ScaleSite(1821, 'default', 2, {}, parseKeyRing(generateKey()));
  try {
    await site.startSettled(SITE);
    const name = `agent-${SITE}`;
    const queue = site.acceptQueue(name, QUEUE, ACCEPT_MS);
    // Distinct locations: a set that compresses into one datagram would be applied from it, with no catch-up.
    const set = Array.from({ length: DEVICES }, (_, i) => device(`${name}-d${i}`, { location: `room ${i * 7919}` }));
    await site.start(name, SITE + 1, set);
    const joined = site.watchVersion(name, 1);
    await site.until(joined, 10_000, 10);
    const slowest = Math.max(...joined.times.values());
    const { asked, dropped } = queue;
    console.log(
      `  keyed, a newcomer of ${DEVICES} devices: ${asked} asked, ${dropped} dropped, held everywhere after ${Math.round(slowest)} ms`,
    );
    assert.is(joined.missing, 0, 'every agent holds the newcomer');
    assert.ok(dropped <= SITE / 10, `${dropped} of the site's ${SITE} first catch-ups dropped`);
  } finally {
    site.sim.network.rpcFaults = undefined;
    await site.stopAll();
  }
});

test.run();
