import { request } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { forgetSiteMissing, withForgetSite } from '../helpers/forget-site.js';
import { testIf } from '../helpers/requirements.js';
import { until } from '../helpers/until.js';

/**
 * attack21: a forget owed while the broker is away (Retirement.owe), then the same name back before the reconnect.
 * The owed forget must not clear a device that is live again: a gateway publishes every peer's state and devices,
 * and the reconnect's owed purge cleared the returned agent's topics from what the gateway holds and from the broker.
 */

const test = suite('attack: MQTT forget owed while the broker is away, then the name back (real mosquitto)');

testIf(test, forgetSiteMissing(), "a gateway's owed forget leaves an agent that came back before the reconnect", () =>
  withForgetSite('readd', ['a1', 'gw'], async (s) => {
    const gw = await s.start('gw', s.relayed, { extra: ['--mqtt-mode', 'gateway', '--mqtt-base', 'gwt'] });
    const a1 = await s.start('a1', s.broker.url);
    const a1Topics = () => s.retainedOf('a1', 'gwt');
    const a1Online = () => s.onlineOn('a1', 'gwt');
    await until(a1Online, 10_000, "the gateway publishes a1's state and device");

    await s.relay.cut();
    await a1.proc.stop('SIGTERM');
    await until(() => s.forget(gw, 'a1'), 10_000, 'the gateway forgets a1 (its broker away)');
    await gw.proc.waitFor(() => gw.proc.logs().find((l) => String(l.msg).startsWith('forgotten while the broker')));

    // The same name back (its host restarted) before the gateway's broker is.
    await s.start('a1', s.broker.url);
    const alive = async () => {
      const res = await request(`${gw.api}/v1/agents/a1`);
      const body = (await res.body.json()) as { state?: string };
      return res.statusCode === 200 && body.state === 'alive';
    };
    await until(alive, 10_000, 'the gateway holds a1 alive again');

    const steps = () => gw.proc.logs().filter((l) => l.msg === 'MQTT state in step with the directory').length;
    const before = steps();
    await s.relay.open();
    await gw.proc.waitFor(() => steps() > before, 40_000, 'the gateway reconnects');
    // The owed purge reads back for the retained window (500 ms) before it decides: give it several.
    await new Promise((r) => setTimeout(r, 3_000));
    const left = await a1Topics();
    assert.ok(await a1Online(), `a1 is live: the gateway still publishes it (held: ${[...left.keys()].join(', ')})`);
  }),
);

test.run();
