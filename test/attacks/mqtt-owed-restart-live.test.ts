import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { forgetSiteMissing, withForgetSite } from '../helpers/forget-site.js';
import { testIf } from '../helpers/requirements.js';
import { until } from '../helpers/until.js';

/**
 * attack22, surface 5: forgets owed in the state folder (owed-forgets.ts) outlive the publisher's restart, and the
 * restarted publisher purges them at its first connect. Before the restart, an owed name that came back alive was
 * dropped from the list (Retirement.alive, attacks/mqtt-forget-readd); a restarted publisher holds next to nothing
 * at its first connect, so a name that came back while it was down may not be alive in its view yet. Held (real
 * mosquitto, one run): a1's state and device stay retained; the purge's read-back sees a1's own state say online and
 * leaves it (Retirement.purge), whatever a3 holds of a1.
 */

const test = suite('attack: an owed forget restored after a restart, the name back meanwhile (real mosquitto)');

testIf(test, forgetSiteMissing(), "a3's restored owed forget leaves a1, live again, on the broker", () =>
  withForgetSite('owedlive', ['a1', 'a3'], async (s) => {
    const a1 = await s.startKept('a1', s.broker.url);
    const a3 = await s.startKept('a3', s.relayed);
    const a1Online = () => s.onlineOn('a1');
    await until(a1Online, 10_000, "a1's state and device retained");

    await s.relay.cut();
    await a1.proc.stop('SIGTERM');
    await until(() => s.forget(a3, 'a1'), 10_000, 'a3 forgets a1 (its broker away)');
    await a3.proc.stop('SIGTERM');

    // a1's host back while a3 is down: a1 publishes itself again, online.
    await s.startKept('a1', s.broker.url);
    await until(a1Online, 10_000, 'a1 online again on the broker');

    await s.relay.open();
    await s.startKept('a3', s.relayed);
    // The owed purge reads back for the retained window (500 ms) before it clears: give it several.
    await new Promise((r) => setTimeout(r, 3_000));
    const left = await s.retainedOf('a1');
    console.log(`  a1 retained after a3's restart: ${[...left.keys()].join(', ') || 'nothing'}`);
    assert.ok(
      await a1Online(),
      `a1 is live: its state and device stay retained (held: ${[...left.keys()].join(', ')})`,
    );
  }),
);

test.run();
