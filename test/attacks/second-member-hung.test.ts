import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SetsPage } from '../../src/directory/sets-page.js';
import { PeerRequestError, type PeerClient } from '../../src/transport/transport.js';
import { ScaleSite } from '../swarm/scale-site.js';

const SITE = 60;

/**
 * A newcomer joins a settled open site. Its first bulk member answers `firstLateMs` late with no set but its own
 * (a member seconds old, still catching up: everything held back is still lacking), and the second member it then
 * asks hangs to its deadline (a stalled loop, or a forger that announced an ancient life to be drawn).
 */
async function join(
  firstLateMs: number,
  secondLateMs?: number,
): Promise<{ completeMs: number | undefined; seconds: number; made: number }> {
  const site = new ScaleSite(1816, 'default', 2);
  try {
    await site.startSettled(SITE);
    const name = `agent-${SITE}`;
    const clock = site.sim.clock;
    const members: string[] = [];
    const wrap = site.meter.peers.bind(site.meter);
    site.meter.peers = (address: string, inner: PeerClient): PeerClient => {
      const client = wrap(address, inner);
      const sets = client.sets?.bind(client);
      if (sets === undefined || address !== `10.0.0.${SITE + 1}`) return client; // the newcomer's (ScaleSite.start)
      client.sets = (peer, after, timeoutMs) => {
        if (!members.includes(peer.address)) members.push(peer.address);
        const member = site.names.find((n) => site.addressOf(n) === peer.address)!;
        if (members.indexOf(peer.address) === 1 && secondLateMs !== undefined)
          return new Promise((resolve, reject) =>
            clock.setTimeout(() => void sets(peer, after, timeoutMs).then(resolve, reject), secondLateMs),
          );
        if (members.indexOf(peer.address) === 1)
          return new Promise((_, reject) =>
            clock.setTimeout(() => reject(new PeerRequestError('timeout', 'timed out')), timeoutMs),
          );
        return new Promise((resolve, reject) =>
          clock.setTimeout(() => {
            const own = (p: SetsPage) => ({ ...p, sets: p.sets.filter((s) => s.origin === member) });
            sets(peer, after, timeoutMs).then((p) => resolve(own(p)), reject);
          }, firstLateMs),
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
    return { completeMs, seconds: members.length - 1, made: site.meter.of(site.addressOf(name)).catchupsMade };
  } finally {
    await site.stopAll();
  }
}

/**
 * attack23 on bulk23's second member: attack19 bounded how long a newcomer's held catch-ups wait for a bulk answer
 * to half a deadline from the ask (a hung member: complete within issue 18's 2 s, attacks/bulk-ask-hung). The second
 * ask takes a hold of its own, half a deadline from the first answer: a first answer read just inside the first hold,
 * lacking what it held back, then a second member that hangs, holds them for both.
 */
test('open site: a late first answer lacking its sets, then a hung second member: complete within 2 s', async () => {
  const results: { late: number; completeMs: number | undefined; seconds: number }[] = [];
  for (const late of [0, 500, 950]) results.push({ late, ...(await join(late)) });
  console.log(`  ${results.map((r) => `first ${r.late} ms late: ${r.completeMs} ms, ${r.seconds} second`).join('; ')}`);
  for (const { late, completeMs } of results)
    assert.ok(completeMs !== undefined && completeMs <= 2_000, `first ${late} ms late: complete in ${completeMs} ms`);
});

/**
 * Measured only, the fix's price: a first answer read 950 ms late, lacking its sets, then an honest second member
 * answering 400 ms late. With its own hold (bulk23) the newcomer waited for it: complete in 1,450 ms, 2 requests.
 * Within what is left of the first hold: the hold ends 50 ms after the ask, and what it held goes one by one:
 * complete in 1,110 ms, 60 requests (the simulator's catch-ups take 1 ms; on loaded real sockets the late answer
 * still spares what waits in the fetch line, 8 at a time). Worst-case wait bounded, at some requests' cost.
 */
test('open site: a late first answer lacking its sets, then a late second answer', async () => {
  const r = await join(950, 400);
  console.log(`  complete in ${r.completeMs} ms, ${r.made} catch-ups made, ${r.seconds} second`);
});

test.run();
