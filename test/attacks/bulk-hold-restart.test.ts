import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { PeerRequestError, type PeerClient } from '../../src/transport/transport.js';
import { ScaleSite, scaleDevices } from '../swarm/scale-site.js';

const SITE = 60;

/**
 * attack22, surface 2 (newcomer21: an earlier origin's heartbeat gap waits for the join's bulk answer). The bulk ask
 * hangs to its deadline (a stalled member) and an earlier origin restarts inside the hold (crashed 300 ms after the
 * newcomer's start, back 200 ms later with other devices). Held: the hold ends at its bound (half a deadline) whatever
 * the answer does, the new life is a later one (not held), and the old life's set would be refused by incarnation.
 * Measured (seed 2204, 60 agents): complete 1,050 ms after the start without the restart, with it on an open site,
 * and keyed; the origin held in its new life at its running version.
 */
/** A newcomer joins, its bulk ask hung to its deadline; with `restart`, agent-20 restarts inside the hold. */
async function join(restart: boolean, keyed = false): Promise<{ completeMs: number | undefined }> {
  const site = new ScaleSite(2204, 'default', 2, {}, keyed ? parseKeyRing(generateKey()) : undefined);
  try {
    await site.startSettled(SITE);
    const name = `agent-${SITE}`;
    const clock = site.sim.clock;
    const wrap = site.meter.peers.bind(site.meter);
    site.meter.peers = (address: string, inner: PeerClient): PeerClient => {
      const client = wrap(address, inner);
      if (client.sets === undefined || address !== `10.0.0.${SITE + 1}`) return client;
      client.sets = (_peer, _after, timeoutMs) =>
        new Promise((_resolve, reject) =>
          clock.setTimeout(() => reject(new PeerRequestError('timeout', 'timed out')), timeoutMs),
        );
      return client;
    };
    const started = site.now();
    await site.start(name, SITE + 1);
    const origin = 'agent-20';
    if (restart) {
      await clock.advance(300);
      site.live.delete(origin);
      await site.sim.crash(origin);
      await clock.advance(200);
      await site.start(origin, 21, scaleDevices(origin, 2, 7));
    }
    let completeMs: number | undefined;
    for (let t = 0; t < 60_000 && completeMs === undefined; t += 50) {
      await clock.advance(50);
      if (site.holdsAll(name) >= site.names.length) completeMs = site.now() - started;
    }
    const held = site.agent(name).agent.directory.held(origin);
    console.log(
      `  ${keyed ? 'keyed' : 'open'}, ${restart ? 'origin restarted in the hold' : 'no restart'}: ` +
        `complete in ${completeMs} ms; ${origin} held ` +
        `${held?.state} at ${held?.incarnation}/${held?.version}, running ${site.agent(origin).incarnation}`,
    );
    return { completeMs };
  } finally {
    await site.stopAll();
  }
}

test('an earlier origin that restarts while the join bulk ask hangs is held in its new life', async () => {
  const plain = await join(false);
  const restarted = await join(true);
  const keyed = await join(true, true);
  assert.ok(plain.completeMs !== undefined && plain.completeMs <= 5_000, `no restart: ${plain.completeMs} ms`);
  assert.ok(restarted.completeMs !== undefined && restarted.completeMs <= 5_000, `restart: ${restarted.completeMs} ms`);
  assert.ok(keyed.completeMs !== undefined && keyed.completeMs <= 5_000, `keyed restart: ${keyed.completeMs} ms`);
});

test.run();
