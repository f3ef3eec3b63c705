import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { forgetSiteMissing, withForgetSite } from './helpers/forget-site.js';
import { testIf } from './helpers/requirements.js';
import { until } from './helpers/until.js';

/**
 * A forget told to an agent whose broker is away (its bridge still connecting after a restart, or cut off). Found
 * by mqtt-ha's rename under load (tests20's lanes, 2026-11-29): `herald forget a1` through the renamed host's new
 * agent answered 0 before that agent's bridge had connected, and in agent mode nothing cleared the old name's
 * retained state afterwards: a ghost for good.
 */

const test = suite('MQTT: a forget while the broker is away (real mosquitto, real agents)');

testIf(test, forgetSiteMissing(), "the old agent's retained state is cleared once the broker is back", () =>
  withForgetSite('away', ['a1', 'a3'], async (s) => {
    const a1 = await s.start('a1', s.broker.url);
    const a3 = await s.start('a3', s.relayed);
    const a1Topics = async () => [...(await s.retainedOf('a1')).keys()];
    await until(async () => (await a1Topics()).length >= 2, 10_000, "a1's state and device retained");

    await s.relay.cut();
    await a1.proc.stop('SIGTERM');
    // 409 while a3 still holds a1 alive: its goodbye is a datagram away.
    await until(() => s.forget(a3, 'a1'), 10_000, 'a3 forgets a1 (its broker away)');
    await a3.proc.waitFor(
      () => a3.proc.logs().find((l) => String(l.msg).startsWith('forgotten while the broker')),
      5_000,
    );
    assert.ok((await a1Topics()).length >= 2, "a1's state is still retained while a3 cannot reach the broker");

    await s.relay.open();
    await until(async () => (await a1Topics()).length === 0, 40_000, "a1's retained state cleared after a3 reconnects");
  }),
);

test.run();
