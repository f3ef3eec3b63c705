import { suite } from 'uvu';
import { forgetSiteMissing, withForgetSite } from '../helpers/forget-site.js';
import { testIf } from '../helpers/requirements.js';
import { until } from '../helpers/until.js';

/**
 * attack21: a forget kept while the broker is away (Retirement.owe) lived in memory only. The publisher restarted
 * before the broker is back (a3 forgets a1 with its broker cut, a3 restarts, the broker comes back): a1's retained
 * state and device stayed on the broker for good (measured: both still there 20 s after a3's reconnect; a3 no longer
 * knows a1, no peer holds it, nothing retires it). Now owed forgets are kept in the state folder
 * (mqtt-owed-forgets.json, src/mqtt/owed-forgets.ts) until their purge has run, as a systemd unit's StateDirectory=
 * gives every agent one.
 */

const test = suite('attack: MQTT forget owed, then the publisher restarted before the broker is back');

testIf(test, forgetSiteMissing(), "a1's retained state is cleared though a3 restarted during the outage", () =>
  withForgetSite('restart', ['a1', 'a3'], async (s) => {
    const a1 = await s.startKept('a1', s.broker.url);
    let a3 = await s.startKept('a3', s.relayed);
    const a1Topics = async () => [...(await s.retainedOf('a1')).keys()];
    await until(async () => (await a1Topics()).length >= 2, 10_000, "a1's state and device retained");

    await s.relay.cut();
    await a1.proc.stop('SIGTERM');
    await until(() => s.forget(a3, 'a1'), 10_000, 'a3 forgets a1 (its broker away)');
    await a3.proc.stop('SIGTERM');
    a3 = await s.startKept('a3', s.relayed, false);

    await s.relay.open();
    await a3.proc.waitFor(
      () => a3.proc.logs().find((l) => l.msg === 'MQTT state in step with the directory'),
      40_000,
      'a3 reconnects',
    );
    await until(async () => (await a1Topics()).length === 0, 20_000, "a1's retained state cleared after a3's restart");
  }),
);

test.run();
