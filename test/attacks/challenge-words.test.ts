import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeEcho, encodeChallenge, encodeEcho } from '../../src/protocol/challenge.js';
import { fnv1a32 } from '../../src/protocol/messages.js';
import { device, SimSite } from '../helpers/sim.js';

/**
 * A newcomer keeps what each challenger says of itself (the reply echo of its counter-nonce) by name hash, and takes
 * a set its bulk answer gave on that word when it came from the origin's address (first-hand-words.ts). Anyone may
 * challenge the newcomer from its own address and draw a counter-nonce: its reply may name any hash. Kept by hash
 * alone, a word from the forger's address replaced the origin's real one, and each set so displaced was probed at
 * its origin (a `set=1` hello) as before the words: two datagrams of the forger's a probe of the newcomer's.
 */
const N = 60;

async function run(seed: number, forger: boolean): Promise<{ probes: number; words: number; forged: number }> {
  const s = new SimSite(seed, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  const newcomer = { name: 'agent-new', address: '10.0.1.1' };
  let probes = 0;
  try {
    for (let i = 0; i < N; i++) {
      await s.start(`agent-${i}`, [device(`d-${i}`), device(`e-${i}`)], { index: i + 1 });
      await s.clock.advance(100);
    }
    assert.ok((await s.runUntilConverged(60_000)) >= 0, 'converged');
    s.network.onEvent = (e) => {
      const set = e.type === 'rpc' && e.route === 'hello' && new URLSearchParams(e.query).get('set') === '1';
      if (set && e.from === newcomer.address) probes += 1;
    };
    let forged = 0;
    if (forger) {
      // The forger, on the LAN at an address of its own: it hears the newcomer's first multicast and challenges it
      // once for every agent of the site; each echo's counter-nonce is answered, a little later, with a word
      // naming one of them (the real words came within a millisecond of the newcomer's announcement).
      const at = '10.0.9.7';
      const names = [...s.agents.keys()];
      let challenged = false;
      await s.network.datagramTransport(at).start((data, from) => {
        if (from.address !== newcomer.address) return;
        if (!challenged) {
          challenged = true;
          for (let i = 0; i < names.length; i++) {
            const nonce = Uint8Array.from({ length: 8 }, (_, k) => (i * 8 + k) & 255);
            s.network.injectTo(at, newcomer.address, encodeChallenge({ nonce, nameHash: fnv1a32(newcomer.name) }));
          }
          return;
        }
        if (data[3] !== 8) return; // an echo
        const echo = decodeEcho(data);
        if (!echo.counter) return;
        const name = names[forged++ % names.length];
        const word = { nonce: echo.counter, nameHash: fnv1a32(name), incarnation: 1, version: 1 };
        const bytes = encodeEcho({ ...word, setDigest: '0'.repeat(16) });
        s.clock.setTimeout(() => s.network.injectTo(at, newcomer.address, bytes), 5);
      });
    }
    const a = await s.start(newcomer.name, [device('new-d')], { address: newcomer.address });
    await s.clock.advance(20_000);
    const words = a.agent.metrics.announceChallenges.get({ result: 'word-confirmed' });
    return { probes, words, forged };
  } finally {
    s.network.onEvent = undefined;
    await s.stopAll();
  }
}

test(`a newcomer to ${N}: a forger's words from its own address displace no origin's own`, async () => {
  const plain = await run(2141, false);
  const attacked = await run(2141, true);
  console.log(
    `    set probes ${plain.probes} -> ${attacked.probes} with ${attacked.forged} forged words; ` +
      `sets taken on their origin's word ${plain.words} -> ${attacked.words}`,
  );
  assert.ok(plain.words > N / 2, `${plain.words} sets taken on their origin's word without the forger`);
  assert.ok(attacked.forged > N / 2, `the forger answered ${attacked.forged} counter-nonces`);
  assert.ok(attacked.probes <= plain.probes + 2, `${attacked.probes} probes with the forger, ${plain.probes} without`);
});

test.run();
