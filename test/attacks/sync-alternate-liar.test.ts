import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/protocol/codec.js';
import { fnv1a32, incarnationTag, MessageType } from '../../src/protocol/messages.js';
import { ScaleSite } from '../swarm/scale-site.js';

/**
 * attack19: a member that hints a version of an origin it does not hold (a lie: one above the newest). Alternates
 * are ranked by the version they hinted first, and only those holding the target are asked, so for every viewer
 * the liar was the one alternate asked, each turn, while the members that really held the change were never
 * asked. It answers what it holds (short of the target: `behind`), and its next hint set its version again.
 *
 * A settled site of 50; agent-10 changes and for `silentMs` its datagrams reach only 15 viewers and its endpoint
 * answers no catch-up (retry18's silent origin). agent-40, a member that missed the change, hints every viewer
 * each 500 ms that it holds agent-10 at one version past the change, and leaves every catch-up asked of it unanswered.
 */
async function silentOriginWithLiar(seed: number, silentMs: number, lie: boolean) {
  const site = new ScaleSite(seed, 'default', 10);
  try {
    await site.startSettled(50);
    const origin = site.addressOf('agent-10');
    const lucky = new Set(site.names.slice(20, 35).map((a) => site.addressOf(a)));
    const liar = site.agent('agent-40');
    const servedBy = new Map<string, number>();
    site.sim.network.onEvent = (e) => {
      if (e.type !== 'rpc' || e.route !== 'changes' || !e.query.includes('origin=agent-10')) return;
      const at = e.to.split(':')[0];
      if (at !== origin) servedBy.set(at, (servedBy.get(at) ?? 0) + 1);
    };
    const until = site.now() + silentMs;
    site.sim.network.dropAtSend = (from, to) => from === origin && site.now() < until && !lucky.has(to);
    // The liar serves no catch-up (it hangs them): it only draws the viewers' retries.
    site.sim.network.rpcFaults = (_from, to, route) =>
      route === 'changes' && ((to === origin && site.now() < until) || (lie && to === liar.address))
        ? { kind: 'hang' }
        : undefined;
    const version = await site.change('agent-10');
    const watch = site.watchVersion('agent-10', version);
    const tenth = site.agent('agent-10');
    const hint = {
      nameHash: fnv1a32('agent-10'),
      incarnationTag: incarnationTag(tenth.incarnation),
      version: version + 1,
    };
    for (let t = 0; t < 15_000 && !watch.done(); t += 10) {
      if (lie && t % 500 === 0) {
        const heartbeat = encodeMessage({
          type: MessageType.heartbeat,
          site: 'sim',
          name: liar.name,
          incarnation: liar.incarnation,
          version: liar.agent.directory.held(liar.name)!.version,
          peerPort: 7771,
          hints: [hint],
        }).bytes;
        for (const a of site.names)
          if (a !== liar.name) site.sim.network.injectTo(liar.address, site.addressOf(a), heartbeat);
      }
      await site.sim.clock.advance(10);
      watch.sweep(site.now());
    }
    const times = [...watch.times.values()];
    return {
      missing: watch.missing,
      lastMs: Math.round(Math.max(0, ...times)),
      liarAsked: servedBy.get(liar.address) ?? 0,
      honestAsked: [...servedBy].filter(([a]) => a !== liar.address).reduce((n, [, c]) => n + c, 0),
    };
  } finally {
    await site.stopAll();
  }
}

/**
 * How late the last viewer holds the change is the random stream's (which viewers hear it, when their turns fall),
 * not the code's: a seed scan of this scenario (seeds 1-20, both with and without the liar) gave the same three
 * modes on main (c6b95e2) and with the datagram challenge. With the liar 7.0, 8.6-9.1 or 13.3-13.8 s (the last at 3
 * of 20 seeds on main, 4 of 20 with the challenge: two stragglers learn the version late and ask the silent origin,
 * and hold the change only after it is heard again at 12 s); without it 2.2-2.5, 4.2-4.3 or 6.7-7.4 s (11 of 20 on
 * each). The bounds below are those a viewer can count on at any seed: the change within a catch-up of the origin's
 * return with the liar, within 8 s without. Left: the stragglers' turns spent on the silent origin.
 */
const WITH_LIAR_MS = 12_000 + 2_000;
const WITHOUT_LIAR_MS = 8_000;

for (const seed of [18, 19]) {
  test(`a member hinting a version it does not hold (seed ${seed}): the viewers still get the change from holders`, async () => {
    const r = await silentOriginWithLiar(seed, 12_000, true);
    console.log(
      `  seed ${seed}: ${r.missing} missing, last held at ${r.lastMs} ms; the liar asked ${r.liarAsked} times, ` +
        `the holders ${r.honestAsked}`,
    );
    // From the members that hold it, mostly while the origin is still silent. The liar costs a viewer a turn (a
    // timeout), and is asked again only once its other alternates failed too (its hint still sets the version wanted).
    assert.is(r.missing, 0, 'every viewer holds the change');
    assert.ok(r.lastMs < WITH_LIAR_MS, `the last viewer held it at ${r.lastMs} ms (the origin silent 12 s)`);
    assert.ok(r.liarAsked <= 2 * 49, `the liar asked ${r.liarAsked} times by 49 viewers`);
  });
}

test('the same silent origin without a liar: the viewers get the change from holders (the bound above)', async () => {
  const r = await silentOriginWithLiar(18, 12_000, false);
  console.log(`  no liar: ${r.missing} missing, last held at ${r.lastMs} ms; the holders asked ${r.honestAsked} times`);
  assert.is(r.missing, 0, 'every viewer holds the change');
  assert.ok(r.lastMs < WITHOUT_LIAR_MS, `the last viewer held it at ${r.lastMs} ms`);
});
test.run();
