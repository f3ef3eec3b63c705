import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PeerRequestError, type PeerClient } from '../../src/transport/transport.js';
import { ScaleSite } from '../swarm/scale-site.js';

const SITE = 60;
/** A late bulk answer comes this late, under the deadline. */
const LATE_MS = 900;

/**
 * What the newcomer's first bulk ask meets: a reset, no answer until its deadline, or a late answer; its member's
 * answer without the member's own set (`omit`), or the member crashed the moment it is asked (`crash`).
 */
type Fault = 'fail' | 'hang' | 'late' | 'omit' | 'crash';

/** A newcomer joins a settled open site, its first bulk ask (its peer client's `sets`) met by `fault`. */
async function join(fault?: Fault): Promise<{ completeMs: number | undefined; made: number }> {
  const site = new ScaleSite(1816, 'default', 2);
  try {
    await site.startSettled(SITE);
    const name = `agent-${SITE}`;
    const clock = site.sim.clock;
    let faulted = false;
    const wrap = site.meter.peers.bind(site.meter);
    site.meter.peers = (address: string, inner: PeerClient): PeerClient => {
      const client = wrap(address, inner);
      const sets = client.sets?.bind(client);
      if (sets === undefined || address !== `10.0.0.${SITE + 1}`) return client; // the newcomer's (ScaleSite.start)
      client.sets = (peer, after, timeoutMs) => {
        if (faulted || fault === undefined) return sets(peer, after, timeoutMs);
        faulted = true;
        const member = site.names.find((n) => site.addressOf(n) === peer.address)!;
        if (fault === 'omit')
          return sets(peer, after, timeoutMs).then((p) => ({ ...p, sets: p.sets.filter((s) => s.origin !== member) }));
        if (fault === 'crash') {
          site.live.delete(member);
          site.sim.network.setDown(peer.address, true);
        }
        if (fault === 'fail' || fault === 'crash')
          return Promise.reject(new PeerRequestError(fault === 'fail' ? 'network' : 'refused', 'connection refused'));
        const ms = fault === 'hang' ? timeoutMs : LATE_MS;
        return new Promise((resolve, reject) =>
          clock.setTimeout(() => {
            if (fault === 'hang') reject(new PeerRequestError('timeout', 'timed out'));
            else sets(peer, after, timeoutMs).then(resolve, reject);
          }, ms),
        );
      };
      return client;
    };
    const started = site.now();
    await site.start(name, SITE + 1);
    let completeMs: number | undefined;
    for (let t = 0; t < 30_000 && completeMs === undefined; t += 10) {
      await clock.advance(10);
      if (site.holdsAll(name) >= site.names.length) completeMs = site.now() - started;
    }
    return { completeMs, made: site.meter.of(site.addressOf(name)).catchupsMade };
  } finally {
    await site.stopAll();
  }
}

/**
 * attack19, the bulk catch-up's fallback: its member answers the join probe, then its bulk ask fails (reset), hangs
 * (to its deadline), or answers late (under it). The catch-ups it held back go when it settles: the newcomer is still
 * complete, origin by origin, a deadline later at most. Measured: none 40 ms (3 catch-ups), a reset 60 ms (60
 * catch-ups), a hang 2,060 ms (60), 900 ms late 940 ms (3). On real sockets the first page has 4 deadlines (the
 * catch-up's accept-queue allowance), which the in-memory network does not model: a hung member holds a newcomer's
 * catch-ups up to ~4 deadlines there (the hold's own bound, BulkSets.expect: a period and 5 deadlines).
 */
test('open site: a newcomer whose bulk ask fails, hangs or is late is still complete', async () => {
  const results: string[] = [];
  for (const fault of [undefined, 'fail', 'hang', 'late'] as const) {
    const { completeMs, made } = await join(fault);
    results.push(`${fault ?? 'none'}: complete in ${completeMs} ms, ${made} catch-ups made`);
    assert.ok(completeMs !== undefined, `${fault}: the newcomer holds every origin`);
    assert.ok(completeMs <= 3_000, `${fault}: complete in ${completeMs} ms`);
  }
  console.log(`  ${results.join('; ')}`);
});

/**
 * attack19: a member that answers its join probe and then never answers the bulk ask (a stalled loop, or a forger)
 * held the newcomer's catch-ups until the ask's deadline: complete in 2,060 ms (fetchTimeoutMs, 2 s at the default
 * heartbeat; ~8 s on real sockets, where the first page has 4 deadlines), against issue 18's 2 s for a newcomer. The
 * hold is now half a deadline (bulk-sets.ts HOLD_DEADLINES), whatever the page's allowance.
 */
test('open site: a newcomer whose bulk ask hangs is complete within 2 s', async () => {
  const { completeMs } = await join('hang');
  assert.ok(completeMs !== undefined && completeMs <= 2_000, `complete in ${completeMs} ms`);
});

/**
 * attack20, served17: the member's own first catch-up now waits for the bulk answer. If that answer lacks the
 * member's set, or never comes (the member crashed as it was asked), is the newcomer still complete within issue
 * 18's 2 s (a crashed member's set aside)? Measured (seed 1816): yes, omitted 40 ms (3 catch-ups, its own set
 * asked after the answer, against 2 with it), crashed 60 ms (60 catch-ups, origin by origin). Nothing to fix.
 */
test('open site: a newcomer whose member omits its own set, or crashes when asked, is complete within 2 s', async () => {
  for (const fault of ['omit', 'crash'] as const) {
    const { completeMs, made } = await join(fault);
    console.log(`  ${fault}: complete in ${completeMs} ms, ${made} catch-ups made`);
    assert.ok(completeMs !== undefined && completeMs <= 2_000, `${fault}: complete in ${completeMs} ms`);
  }
});

test.run();
