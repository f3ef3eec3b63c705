import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { forgetSiteMissing, withForgetSite } from '../helpers/forget-site.js';
import { testIf } from '../helpers/requirements.js';
import { until } from '../helpers/until.js';

/**
 * attack21: the broker goes away in the middle of a forget's purge (agent mode: the purge subscribes, reads back the
 * retained topics for its window, then clears them). A purge cut off must still be done after the next connect, as
 * a forget that found the broker away is (Retirement.owe).
 */

const test = suite('attack: MQTT broker flapping mid-purge (real mosquitto, real agents)');

testIf(test, forgetSiteMissing(), "a purge cut off by the broker's loss is done after the reconnect", () =>
  withForgetSite('flap', ['a1', 'a3'], async (s) => {
    const a1 = await s.start('a1', s.broker.url);
    const a3 = await s.start('a3', s.relayed);
    const a1Topics = async () => [...(await s.retainedOf('a1')).keys()];
    await until(async () => (await a1Topics()).length >= 2, 10_000, "a1's state and device retained");

    // a1 killed (its will says offline, retained), a3 still holds it lost: it may be forgotten.
    await a1.proc.stop('SIGKILL');
    await until(() => s.forget(a3, 'a1'), 20_000, 'a3 forgets a1 (its broker connected)');
    // The purge reads back for 500 ms before it clears: the link goes down inside that window.
    await s.relay.cut();
    await new Promise((r) => setTimeout(r, 2_000));
    assert.ok((await a1Topics()).length >= 2, "a1's state is still retained: the purge was cut off");

    await s.relay.open();
    const cleared = async () => (await a1Topics()).length === 0;
    await until(cleared, 40_000, "a1's retained state cleared after a3 reconnects").catch((err: unknown) => {
      const said = a3.proc.logs().filter((l) => /MQTT|purge|forg/.test(String(l.msg)));
      throw new Error(`${(err as Error).message}; a3 said: ${said.map((l) => String(l.msg)).join(' | ')}`);
    });
  }),
);

test.run();
