import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKey, parseKeyRing } from '../../src/security/cluster-key.js';
import { device } from '../helpers/sim.js';
import { ScaleSite } from '../swarm/scale-site.js';

const SITE = 70;

/**
 * Attack on the first-fetch spread (first-fetch-spread.ts): a newcomer restarts in place (a new incarnation,
 * a new set) while the site's first catch-ups of its first life still wait. No agent may be left with the
 * first life or without the second's set: every one holds the new life's device within the spread (2.5 s).
 */
for (const keyed of [false, true])
  test(`${keyed ? 'keyed' : 'open'}: a newcomer restarted during the spread is held in its new life everywhere`, async () => {
    const site = new ScaleSite(1824, 'default', 2, {}, keyed ? parseKeyRing(generateKey()) : undefined);
    try {
      await site.startSettled(SITE);
      const name = `agent-${SITE}`;
      const address = `10.0.0.${SITE + 1}`;
      const big = (tag: string) =>
        Array.from({ length: 200 }, (_, i) => device(`${name}-${tag}${i}`, { location: `room ${i * 7919}` }));
      await site.sim.start(name, big('a'), { address });
      site.names.push(name);
      site.live.add(name);
      await site.sim.clock.advance(30);
      await site.sim.crash(name);
      const restarted = await site.sim.start(name, big('b'), { address });
      const from = site.now();
      const holds = (v: string) => {
        const d = site.agent(v).agent.directory;
        return d.held(name)?.incarnation === restarted.incarnation && d.device(name, `${name}-b0`) !== undefined;
      };
      const others = site.others(name);
      while (!others.every(holds) && site.now() - from < 10_000) await site.sim.clock.advance(10);
      const lacking = others.filter((v) => !holds(v));
      console.log(
        `  ${others.length - lacking.length} of ${others.length} hold the new life after ${site.now() - from} ms`,
      );
      assert.is(lacking.length, 0, `${lacking.length} lack the new life: ${lacking.slice(0, 5).join(', ')}`);
      assert.ok(site.now() - from <= 2_500, `held everywhere within ${site.now() - from} ms`);
    } finally {
      await site.stopAll();
    }
  });

test.run();
