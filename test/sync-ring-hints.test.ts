import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ring } from '../src/sync/ring.js';
import { percentile } from './swarm/scale.js';
import { rareSite } from './helpers/rare-site.js';

/**
 * With hints on the subjects' unicast for 2 periods only, a host whose 2 subjects' 4 hinting heartbeats were
 * all lost (0.3⁴, ~1 %) and that heard no hinting multicast waited for the origin's own next heartbeat,
 * minutes away: 6 of 2,970 deliveries in this run never arrived within 10 s. Now each hint rides 6 rounds.
 */
test('at 30 % loss every change reaches every agent although multicast heartbeats are rare', async () => {
  const site = await rareSite(1);
  try {
    site.sim.network.loss = 0.3;
    const { times, undelivered } = await site.changes(30, 10_000);
    console.log(`  30 changes to 99 agents at 30 % loss: p99 ${percentile(times, 99)} ms, ${undelivered} undelivered`);
    assert.is(undelivered, 0, 'deliveries that never arrived within 10 s');
    assert.is(site.falseLosses, 0);
  } finally {
    await site.stopAll();
  }
});

/**
 * One probe in 16 of a peer used to ask for its whole summary, also a monitor's liveness probes of its
 * subject: 86 kB at 1,000 agents, in an idle minute 1.1 kB/s received by that agent against a goal of 300.
 * Here a subject's datagrams to one monitor are lost, so that monitor probes it every 2.5 s.
 */
test("a monitor's liveness probes of a subject on a stretched site ask no summary", async () => {
  const site = await rareSite(2);
  try {
    const subject = 'agent-0';
    const monitor = new Ring(site.names).monitorsOf(subject)[0];
    const [from, to] = [site.addressOf(subject), site.addressOf(monitor)];
    site.sim.network.dropAtSend = (a, b) => a === from && b === to;
    site.meter.reset();
    await site.sim.clock.advance(60_000);
    const own = site.meter.of(from);
    console.log(`  ${monitor} probed ${subject} ${own.served.probe.count} times in 60 s`);
    assert.ok(own.served.probe.count >= 16, `the monitor probed its subject ${own.served.probe.count} times`);
    assert.is(own.served.summary.count, 0, 'summaries served by the subject');
    assert.is(site.falseLosses, 0);
  } finally {
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

/**
 * Ten origins changing every 500 ms (20 changes a second) keep every datagram's 8 hint slots full of newer
 * changes. A host that heard nothing for 1.2 s missed a quiet origin's announcement, and also the few datagrams
 * that hinted it while it was among the 8 newest; afterwards, newest first, it rode no round and no multicast,
 * expired, and the host held a stale entry until the quiet origin's own next heartbeat, minutes away at this
 * size: still stale after 15 s (the attacker's reasoning in issue 18). Least recently carried first (hints.ts), the
 * host holds it 100 ms after it hears again. One noisy origin cannot do it: hints are kept per origin, so it
 * holds one slot of 8, however often it changes.
 */
test("noisy origins cannot starve a quiet origin's hint out of the ring's rounds", async () => {
  const site = await rareSite(3);
  try {
    const ring = new Ring(site.names);
    const host = 'agent-50';
    const subjects = ring.subjectsOf(host);
    const others = site.names.filter((n) => n !== host && !subjects.includes(n) && !ring.watches(n, host));
    const [quiet, ...rest] = others.filter((n) => !ring.watches(host, n));
    const noisy = rest.slice(0, 10);
    let stop = false;
    let tick = 0;
    const churn = (): void => {
      if (stop) return;
      void site.change(noisy[tick++ % noisy.length]);
      site.sim.clock.setTimeout(churn, 50);
    };
    churn();
    await site.sim.clock.advance(3_000);
    // The host hears nothing for 1.2 s (a burst of loss: a fade, a full receive buffer): the quiet announcement,
    // its subjects' next round and the noisy announcements that carried the quiet hint while it was new.
    const to = site.addressOf(host);
    site.sim.network.dropAtSend = (_a, b) => b === to;
    const version = await site.change(quiet);
    await site.sim.clock.advance(1_200);
    site.sim.network.dropAtSend = undefined;
    const held = () => site.agent(host).agent.directory.held(quiet)?.version ?? 0;
    const lost = held() < version;
    const since = site.now();
    while (held() < version && site.now() - since < 15_000) await site.sim.clock.advance(50);
    const took = site.now() - since;
    stop = true;
    console.log(`  ${host} lost ${quiet}'s announcement: ${lost}; held it after ${took} ms (limit 15 s)`);
    assert.ok(lost, 'the quiet announcement was not lost at the host');
    assert.ok(held() >= version, `${host} still held ${quiet} at version ${held()} < ${version} after 15 s`);
    assert.ok(took <= 5_000, `the quiet change took ${took} ms to reach ${host}`);
  } finally {
    site.sim.network.dropAtSend = undefined;
    await site.stopAll();
  }
});

test.run();
